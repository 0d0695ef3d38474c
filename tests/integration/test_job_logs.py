"""A job's logs read back from CloudWatch Logs (moto's server) as SageMaker lays them out: one stream per
instance, lines interleaved in time; pages continued with the token return every line once, and a token keeps
working while a running job writes more."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.clock import moved_millis
from trainforge.errors import SageMakerConfigurationError
from trainforge.tracking.logs import LOG_GROUP, job_logs

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


def base() -> int:
    """The tests' first line's time, next to the clock (CloudWatch Logs keeps 14 days)."""
    return moved_millis(1_795_867_000_000)


@pytest.fixture
def logs(aws: Any) -> Any:
    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=LOG_GROUP)
    return client


def write(logs: Any, stream: str, lines: list[tuple[int, str]]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": base() + offset, "message": text} for offset, text in lines],
    )


def read_all(logs: Any, job: str, limit: int, **kwargs: Any) -> list[dict[str, Any]]:
    token, found = None, []
    for _ in range(50):
        page = job_logs(logs, job, limit=limit, next_token=token, **kwargs)
        found += page["events"]
        if not page["events"]:
            return found
        token = page["next_token"]
    raise AssertionError("pages never ended")


def test_two_instances_are_interleaved_in_time_and_every_line_comes_once(logs: Any) -> None:
    write(logs, f"two-hosts/algo-1-{base() // 1000}", [(0, "a0"), (20, "a20"), (20, "a20b"), (40, "a40")])
    write(logs, f"two-hosts/algo-2-{base() // 1000}", [(10, "b10"), (20, "b20"), (30, "b30")])
    write(logs, f"two-hosts-other/algo-1-{base() // 1000}", [(5, "another job's line")])
    lines = read_all(logs, "two-hosts", limit=2)
    assert [(e["instance"], e["message"]) for e in lines] == [
        ("algo-1", "a0"), ("algo-2", "b10"), ("algo-1", "a20"), ("algo-1", "a20b"), ("algo-2", "b20"),
        ("algo-2", "b30"), ("algo-1", "a40"),
    ]  # fmt: skip
    assert lines[0]["timestamp"] == datetime.fromtimestamp(base() / 1000, UTC).isoformat()
    only_two = read_all(logs, "two-hosts", limit=100, instance="algo-2")
    assert [e["message"] for e in only_two] == ["b10", "b20", "b30"]


def test_a_token_follows_a_running_job_as_it_writes_more(logs: Any) -> None:
    write(logs, f"running/algo-1-{base() // 1000}", [(0, "epoch 1")])
    first = job_logs(logs, "running", limit=10)
    assert [e["message"] for e in first["events"]] == ["epoch 1"]
    idle = job_logs(logs, "running", limit=10, next_token=first["next_token"])
    assert idle["events"] == [] and idle["next_token"]
    write(logs, f"running/algo-1-{base() // 1000}", [(0, "same millisecond"), (50, "epoch 2")])
    write(logs, "running/algo-2-1795867050", [(60, "second instance joins")])
    more = job_logs(logs, "running", limit=10, next_token=idle["next_token"])
    assert [e["message"] for e in more["events"]] == ["same millisecond", "epoch 2", "second instance joins"]


def test_time_bounds_and_a_job_without_logs(logs: Any) -> None:
    write(logs, f"bounded/algo-1-{base() // 1000}", [(0, "early"), (1000, "middle"), (2000, "late")])
    start = datetime.fromtimestamp((base() + 500) / 1000, UTC)
    end = datetime.fromtimestamp((base() + 1500) / 1000, UTC)
    page = job_logs(logs, "bounded", start_time=start, end_time=end)
    assert [e["message"] for e in page["events"]] == ["middle"]
    assert job_logs(logs, "never-logged")["events"] == []


def test_a_forged_token_or_bad_bounds_are_refused_naming_the_field(logs: Any) -> None:
    for kwargs, field in (
        ({"next_token": "bm90IGpzb24"}, "next_token"),
        ({"limit": 0}, "limit"),
        ({"instance": "host-1"}, "instance"),
        (
            {"start_time": datetime(2026, 1, 2, tzinfo=UTC), "end_time": datetime(2026, 1, 1, tzinfo=UTC)},
            "end_time",
        ),
    ):
        with pytest.raises(SageMakerConfigurationError) as raised:
            job_logs(logs, "any", **kwargs)
        fields = {p.field for p in raised.value.problems} | {raised.value.field}
        assert field in fields, (kwargs, raised.value.message)


def test_lines_written_in_the_same_millisecond_keep_their_order(logs: Any) -> None:
    from trainforge.tracking.logs import last_lines

    written = [
        "Traceback (most recent call last):",
        '  File "train.py", line 6',
        "    x = float(r)",
        "ValueError: n/a",
    ]
    write(logs, f"same-ms/algo-1-{base() // 1000}", [(7, line) for line in written])
    assert [e["message"] for e in read_all(logs, "same-ms", limit=3)] == written
    assert last_lines(logs, "same-ms", count=3) == written[1:]


def test_a_burst_in_one_millisecond_pages_through_with_a_small_token(logs: Any) -> None:
    written = [f"line {n}" for n in range(250)]
    write(logs, f"burst/algo-1-{base() // 1000}", [(3, line) for line in written])
    token, found = None, []
    for _ in range(10):
        page = job_logs(logs, "burst", limit=100, next_token=token)
        assert len(page["next_token"]) < 60, "the token's size does not grow with the lines it skips"
        found += [e["message"] for e in page["events"]]
        if not page["events"]:
            break
        token = page["next_token"]
    assert found == written
