"""The client and its jobs: submit, get, list (lazily, page by page), and a job's status, logs, wait and cancel."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.jobs import job_id_of, unpack_artifact
from trainforge.client.errors import from_api_error
from trainforge.client.resources import Builds, Teams, TuningJobs, paged
from trainforge.local.discovery import running_api_url
from trainforge.models import api
from trainforge.models.status import JOB_STATUS_RANK, TERMINAL_RANK


class Client:
    """The API at ``api_url``, else ``TRAINFORGE_API_URL``, else the local mode running in this folder (or one
    above), else the ``ApiUrl`` output of the stack ``Trainforge-<TRAINFORGE_STAGE or dev>`` in the credentials'
    region. Deployed, requests are signed with SigV4 from the default credentials chain (or ``profile``)."""

    def __init__(
        self, api_url: str | None = None, *, profile: str | None = None, region: str | None = None,
        principal: str | None = None, retries: int = 3, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        url = (
            api_url
            or os.environ.get("TRAINFORGE_API_URL")
            or running_api_url(Path.cwd())
            or stack_api_url(profile)
        )
        try:
            self.http = TrainforgeClient(url or "", region=region, profile=profile, principal=principal)
        except ApiError as refused:
            raise from_api_error(refused) from None
        self.retries, self._sleep = retries, sleep
        self.jobs = Jobs(self)
        self.builds = Builds(self)
        self.tuning_jobs = TuningJobs(self)
        self.teams = Teams(self)

    @property
    def api_url(self) -> str:
        return self.http.api_url

    def request(self, method: str, path: str, body: Any = None, *, query: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:  # fmt: skip
        """One API call; a 503 is tried again after its Retry-After (else 1, 2, 4 s), ``retries`` times."""
        for attempt in range(self.retries + 1):
            try:
                return self.http.request(method, path, body, query=query, headers=headers)
            except ApiError as error:
                if error.status == 503 and attempt < self.retries:
                    self._sleep(
                        min(error.retry_after if error.retry_after is not None else 2.0**attempt, 30.0)
                    )
                    continue
                raise from_api_error(error) from None
        raise AssertionError("unreachable")


def stack_api_url(profile: str | None) -> str | None:
    """The deployed stack's ``ApiUrl`` output, when credentials can read it; None otherwise."""
    try:
        # botocore only when the URL must come from the deployed stack: local mode and TRAINFORGE_API_URL need none
        import botocore.session
        from botocore.exceptions import BotoCoreError, ClientError

        session = botocore.session.Session(profile=profile)
        if session.get_credentials() is None or not session.get_config_variable("region"):
            return None
        stack = f"Trainforge-{os.environ.get('TRAINFORGE_STAGE', 'dev')}"
        found = session.create_client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (BotoCoreError, ClientError, IndexError, KeyError):
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    return outputs.get("ApiUrl")


class Jobs:
    def __init__(self, client: Client) -> None:
        self._client = client

    def submit(
        self, config: Mapping[str, Any] | api.JobRequest, *, idempotency_key: str | None = None
    ) -> Job:
        """Record and queue a training job (the same request again answers the first job)."""
        body = config.model_dump(exclude_none=True) if isinstance(config, api.JobRequest) else dict(config)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        answer = self._client.request("POST", "/jobs", body, headers=headers)
        return Job(self._client, api.JobStatus.model_validate(answer))

    def get(self, job: int | str) -> Job:
        """A job by its id, or by its name."""
        try:
            job_id = job_id_of(self._client.request, job)
        except ApiError as refused:  # the name matched no job
            raise from_api_error(refused) from None
        return Job(self._client, api.JobStatus.model_validate(self._client.request("GET", f"/jobs/{job_id}")))

    def list(self, *, status: str | None = None, team: str | None = None, job_name: str | None = None,
             page_size: int = 50) -> JobList:  # fmt: skip
        """Jobs, newest first, fetched a page at a time as the iteration reaches it."""
        return JobList(
            self._client, {"status": status, "team": team, "job_name": job_name, "limit": page_size}
        )


class JobList:
    """An iteration over jobs that asks the API for the next page only when it gets there."""

    def __init__(self, client: Client, query: dict[str, Any]) -> None:
        self._client, self._query = client, query
        self.pages_read = 0

    def __iter__(self) -> Iterator[Job]:
        for page in paged(self._client, "/jobs", self._query):
            self.pages_read += 1
            for summary in api.JobPage.model_validate(page).jobs:
                yield Job(self._client, api.JobStatus.model_validate({**summary.model_dump(), "history": []}))


class Job:
    """A training job as the API last described it (``info``); ``refresh()`` asks again."""

    def __init__(self, client: Client, info: api.JobStatus) -> None:
        self._client, self.info = client, info
        self.upload: dict[str, Any] | None = None  # trainforge.train's dataset upload (uploaded, skipped)

    def __repr__(self) -> str:
        return f"Job({self.info.id}, {self.info.job_name!r}, {self.info.status!r})"

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.job_name

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def finished(self) -> bool:
        return JOB_STATUS_RANK.get(self.info.status, 0) >= TERMINAL_RANK

    def refresh(self) -> Job:
        self.info = api.JobStatus.model_validate(self._client.request("GET", f"/jobs/{self.id}"))
        return self

    def cancel(self) -> bool:
        """Stop the job; False when it had already finished."""
        answer = api.CancelResponse.model_validate(self._client.request("POST", f"/jobs/{self.id}/cancel"))
        self.info = answer.job
        return answer.cancelled

    def logs(
        self, *, follow: bool = False, poll: float = 2.0, deadline: float | None = None
    ) -> Iterator[api.LogEvent]:
        """The job's log lines, oldest first; with ``follow``, new ones as they come until the job has finished
        (``deadline``, a ``time.monotonic()`` instant: TimeoutError once it has passed)."""
        token: str | None = None
        while True:
            page = api.LogPage.model_validate(
                self._client.request(
                    "GET", f"/jobs/{self.id}/logs", query={"next_token": token, "limit": 1000}
                )
            )
            token = page.next_token
            yield from page.events
            if len(page.events) == 1000:
                continue
            if not follow or (self.finished and not page.events):
                return
            self._before(deadline)
            time.sleep(poll)
            self.refresh()

    def wait(self, *, logs: bool = False, poll: float = 2.0, timeout: float | None = None,
             out: IO[str] | None = None) -> Job:  # fmt: skip
        """Until the job has finished (Completed, Failed or Stopped); with ``logs``, its lines printed as they come,
        as the SageMaker SDK's ``fit(logs=True)`` prints them. Returns the job: check ``job.status``."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        if logs:
            stream = out or sys.stdout
            for event in self.logs(follow=True, poll=poll, deadline=deadline):
                print(f"{event.timestamp[11:19]} {event.instance} {event.message}", file=stream, flush=True)
            return self.refresh()
        while not self.refresh().finished:
            self._before(deadline)
            time.sleep(poll)
        return self

    def _before(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{self.name} is still {self.status} past its deadline")

    def download(self, directory: str | Path | None = None) -> dict[str, list[str]]:
        """The finished job's model and output archives, unpacked into DIRECTORY/model and DIRECTORY/output
        (DIRECTORY: the job's name); the files of each."""
        found = api.JobArtifacts.model_validate(self._client.request("GET", f"/jobs/{self.id}/artifacts"))
        target = Path(directory or self.name)
        written: dict[str, list[str]] = {}
        for part, link in (("model", found.model), ("output", found.output)):
            if link is not None:
                written[part] = unpack_artifact(self._client.http, link.url, target / part)
        return written

    def metrics(self) -> Any:
        """Each metric's values by step: a pandas DataFrame (a column per metric) when pandas is installed, else the
        API's ``JobMetrics``."""
        answer = api.JobMetrics.model_validate(self._client.request("GET", f"/jobs/{self.id}/metrics"))
        try:
            import pandas  # an optional extra: without it, the API's own model
        except ImportError:
            return answer
        longest = max((len(values) for values in answer.steps.values()), default=0)
        columns = {name: values + [None] * (longest - len(values)) for name, values in answer.steps.items()}
        return pandas.DataFrame(columns, index=pandas.RangeIndex(1, longest + 1, name="step"))
