"""A training job's logs, read where SageMaker writes them: CloudWatch Logs group ``/aws/sagemaker/TrainingJobs``,
one stream per instance, ``<job-name>/algo-<n>-<epoch>``.

Pages are continued with Trainforge's own token (the time of the last event returned and how many events at that
time were returned): it stays valid when a new instance's stream appears between two polls, which CloudWatch's
``nextToken`` (bound to the streams of the first call) does not, so a client can follow a running job with it.
Its size is bounded whatever the job prints in one millisecond.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from trainforge import repository
from trainforge.aws import error_code, refused_as
from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.inputs import storable

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
INSTANCE_PATTERN = re.compile(r"^algo-[1-9][0-9]{0,3}$")
MAX_LIMIT = 1000
STREAMS_PER_CALL = 100  # FilterLogEvents takes at most 100 stream names
MAX_MILLIS = 2**53  # CloudWatch takes epoch milliseconds from 0
MAX_SAME_MILLISECOND = 1_000_000


def encode_token(after_ms: int, returned_at_after: int) -> str:
    raw = json.dumps({"t": after_ms, "n": returned_at_after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[int, int]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, returned = decoded["t"], decoded["n"]
        if not isinstance(after, int) or not isinstance(returned, int) or isinstance(after | returned, bool):
            raise ValueError("malformed")
        if not 0 <= after <= MAX_MILLIS or not 0 <= returned <= MAX_SAME_MILLISECOND:
            raise ValueError("out of range")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise SageMakerConfigurationError(
            "next_token is not one this API returned; pass next_token from the previous page",
            field="next_token",
        ) from None
    return after, returned


def millis(moment: datetime) -> int:
    """Epoch milliseconds, within what CloudWatch takes (a time without a zone is UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return min(max(int(aware.timestamp() * 1000), 0), MAX_MILLIS)


def time_problem(name: str, moment: datetime | None) -> Problem | None:
    if moment is None:
        return None
    try:
        millis(moment)
    except (OverflowError, ValueError, OSError):
        return Problem(name, "must be a time between years 1 and 9999 in UTC")
    return None


def instance_of(stream: str) -> str:
    """``job/algo-2-1700000000`` → ``algo-2``."""
    tail = stream.split("/", 1)[-1]
    return tail.rsplit("-", 1)[0] if tail.count("-") >= 2 else tail


def job_streams(logs: Any, job_name: str, instance: str | None) -> list[str]:
    prefix = f"{job_name}/{instance}-" if instance else f"{job_name}/"
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=LOG_GROUP, logStreamNamePrefix=prefix
    )
    try:
        return sorted(s["logStreamName"] for page in pages for s in page.get("logStreams", []))
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":  # no job has logged in this account yet
            return []
        raise


def job_logs(
    logs: Any,
    job_name: str,
    *,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    limit: int = 100,
    next_token: str | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """Events of every instance's stream in time order, at most ``limit``; ``next_token`` continues after the
    last one (and is returned even when the page is empty, so a poll can wait for more)."""
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(Problem("limit", f"must be between 1 and {MAX_LIMIT}"))
    if instance is not None and not INSTANCE_PATTERN.fullmatch(instance):
        problems.append(Problem("instance", "must name an instance as SageMaker does: algo-1, algo-2, ..."))
    problems += [p for p in (time_problem("start_time", start_time), time_problem("end_time", end_time)) if p]
    if not problems and start_time and end_time and millis(end_time) < millis(start_time):
        problems.append(Problem("end_time", "must not be before start_time"))
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "log request")
    after, skip = decode_token(next_token) if next_token else (None, 0)
    start = millis(start_time) if start_time else 0
    if after is not None and after >= start:
        start = after
    else:
        skip = 0  # the time filter starts after the token's time: nothing there to skip
    events: list[dict[str, Any]] = []
    with refused_as("CloudWatch Logs"):
        streams = job_streams(logs, job_name, instance)
        for first in range(0, len(streams), STREAMS_PER_CALL):
            chunk = streams[first : first + STREAMS_PER_CALL]
            events += _events(logs, chunk, start, end_time, limit + skip)
    # A stable sort by time alone: lines of one millisecond keep the order CloudWatch gave them (their order in
    # the stream), which their text or event ids do not say. The first ``skip`` of them at the token's time were
    # returned by the previous page.
    events = sorted(events, key=lambda e: e["timestamp"])
    events = events[min(skip, sum(1 for e in events if e["timestamp"] == start)) :][:limit]
    if events:
        last = events[-1]["timestamp"]
        at_last = sum(1 for e in events if e["timestamp"] == last) + (skip if last == start else 0)
        token = encode_token(last, at_last)
    else:
        token = next_token or encode_token(start, 0)
    return {
        "events": [
            {
                "timestamp": datetime.fromtimestamp(e["timestamp"] / 1000, UTC).isoformat(),
                "instance": instance_of(e["logStreamName"]),
                "message": e["message"].rstrip("\n"),
            }
            for e in events
        ],
        "next_token": token,
    }


def _events(
    logs: Any, streams: list[str], start: int, end_time: datetime | None, wanted: int
) -> list[dict[str, Any]]:
    """Up to ``wanted`` events of these streams from ``start`` on, following CloudWatch's own pages."""
    # CloudWatch has interleaved the streams by time since 2019 and ignores the flag; emulators still need it.
    request: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNames": streams, "startTime": start,
                               "interleaved": True}  # fmt: skip
    if end_time is not None:
        request["endTime"] = millis(end_time)
    pages = logs.get_paginator("filter_log_events").paginate(
        **request, PaginationConfig={"MaxItems": wanted, "PageSize": min(wanted, 10_000)}
    )
    return [event for page in pages for event in page.get("events", [])]


TAIL_LINES = 30
MAX_TAIL_LINE = 1000  # characters kept of each line


def last_lines(logs: Any, job_name: str, count: int = TAIL_LINES) -> list[str]:
    """The job's last ``count`` log lines across its instances, oldest first (``algo-n: message`` when it ran on
    several)."""
    streams = job_streams(logs, job_name, None)
    events: list[tuple[int, str, str]] = []
    for stream in streams:
        response = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=False, limit=count
        )
        events += [(e["timestamp"], instance_of(stream), e["message"]) for e in response.get("events", [])]
    several = len(streams) > 1
    return [
        (f"{host}: {text}" if several else text).rstrip("\n")[:MAX_TAIL_LINE]
        for _, host, text in sorted(events, key=lambda e: e[0])[-count:]  # stable: a stream's own order
    ]


def keep_failure_tail(db: Database, logs: Any, job_id: int, job_name: str) -> list[str]:
    """Read a failed job's last log lines and keep them on its record; returns them (none if there were none)."""
    lines = [storable(line) for line in last_lines(logs, job_name)]
    if lines:
        repository.set_log_tail(db, job_id, lines)
    return lines
