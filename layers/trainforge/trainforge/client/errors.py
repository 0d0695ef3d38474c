"""The API's errors as exceptions, a class per kind, each with the API's ``problems`` (field and rule)."""

from __future__ import annotations

from trainforge.cli.client import ApiError


class TrainforgeError(ApiError):
    """An error the API answered (or could not be reached: ``status`` 0)."""

    def __str__(self) -> str:
        listed = "; ".join(f"{p.get('field', '?')}: {p.get('message', '')}" for p in self.problems)
        return f"{self.status} {self.code}: {self.message}" + (
            f" ({listed})" if listed and len(self.problems) > 1 else ""
        )


class InvalidRequest(TrainforgeError):
    """400 or 422: the request breaks a rule; ``problems`` lists every field and rule."""


class NotFound(TrainforgeError):
    """404: no such job (or one of another team: the API says the same)."""


class Conflict(TrainforgeError):
    """409: the name is taken, or the job is in no state for this."""


class BudgetExceeded(InvalidRequest):
    """The job's cost ceiling does not fit in its team's budget this month."""


class Forbidden(TrainforgeError):
    """403: the credentials may not call the API, or their principal belongs to no team."""


class Unavailable(TrainforgeError):
    """502, 503 or unreachable: retried (503 after its Retry-After) before this is raised."""


def from_api_error(error: ApiError) -> TrainforgeError:
    if error.code == "budget_exceeded":
        kind: type[TrainforgeError] = BudgetExceeded
    elif error.status in (400, 413, 415, 422):
        kind = InvalidRequest
    elif error.status == 404:
        kind = NotFound
    elif error.status == 409:
        kind = Conflict
    elif error.status == 403:
        kind = Forbidden
    elif error.status in (0, 502, 503, 504):
        kind = Unavailable
    else:
        kind = TrainforgeError
    return kind(error.status, error.code, error.message, error.field, error.problems, error.retry_after)
