"""The client's other resources: builds, tuning jobs and teams, each answer the API's own model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from trainforge.models import api
from trainforge.models.api.tuning import TuningJobStatus, TuningRequest

if TYPE_CHECKING:
    from trainforge.client.jobs import Client


class Builds:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, build_id: int) -> api.Build:
        return api.Build.model_validate(self._client.request("GET", f"/builds/{build_id}"))

    def list(
        self, *, tag: str | None = None, status: str | None = None, page_size: int = 50
    ) -> Iterator[api.Build]:
        """Builds, newest first, a page fetched as the iteration reaches it."""
        for page in paged(self._client, "/builds", {"tag": tag, "status": status, "limit": page_size}):
            yield from api.BuildPage.model_validate(page).builds


def paged(client: Client, path: str, query: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A listing's pages, each asked for only when the iteration reaches it (the API's ``next_cursor``)."""
    cursor: str | None = None
    while True:
        page: dict[str, Any] = client.request("GET", path, query={**query, "cursor": cursor})
        yield page
        cursor = page.get("next_cursor")
        if not cursor:
            return


class TuningJobs:
    def __init__(self, client: Client) -> None:
        self._client = client

    def submit(self, request: Mapping[str, Any] | TuningRequest) -> TuningJobStatus:
        body = request.model_dump(exclude_none=True) if isinstance(request, TuningRequest) else dict(request)
        return TuningJobStatus.model_validate(self._client.request("POST", "/tuning-jobs", body))

    def get(self, tuning_job_id: int) -> TuningJobStatus:
        """The tuning job with its trials, best first."""
        return TuningJobStatus.model_validate(self._client.request("GET", f"/tuning-jobs/{tuning_job_id}"))

    def cancel(self, tuning_job_id: int) -> bool:
        answer = self._client.request("POST", f"/tuning-jobs/{tuning_job_id}/cancel")
        return bool(answer["cancelled"])


class Teams:
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[api.Team]:
        return api.TeamList.model_validate(self._client.request("GET", "/teams")).teams

    def usage(self, team: str, month: str | None = None) -> api.TeamUsage:
        """A team's spend in ``month`` (YYYY-MM; this month by default): by day, by instance type, and its budget."""
        return api.TeamUsage.model_validate(
            self._client.request("GET", f"/teams/{team}/usage", query={"month": month})
        )
