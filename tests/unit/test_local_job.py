"""Local mode's job keeps SageMaker's clock: every transition strictly later than the last, in milliseconds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from trainforge.local.sagemaker.job import EPOCH, LocalJob


def test_transitions_in_the_same_millisecond_still_get_later_times() -> None:
    job = LocalJob({"TrainingJobName": "fast"}, "arn:aws:sagemaker:us-east-1:123456789012:training-job/fast")
    stamps = []
    for step in range(200):  # far faster than a millisecond each
        job.move("InProgress", f"Step{step}", "moving")
        stamps.append(job.describe()["LastModifiedTime"])
    millis = [
        stamp if isinstance(stamp, int) else (stamp - EPOCH) // timedelta(milliseconds=1) for stamp in stamps
    ]
    assert millis == sorted(millis) and len(set(millis)) == len(millis)


def test_two_threads_saving_one_record_never_trip_over_each_others_file(tmp_path: Path) -> None:
    """Schemathesis once cancelled a job while it ran: the stop and the job's own progress both saved its record,
    and one thread's rename found the shared temporary file already renamed by the other (a 502)."""
    import json
    import threading

    from trainforge.local.sagemaker.record import _write

    target = tmp_path / "jobs" / "churn-1.json"
    failures: list[BaseException] = []

    def save(mark: int) -> None:
        try:
            for n in range(300):
                _write(target, {"writer": mark, "n": n})
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=save, args=(mark,)) for mark in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert json.loads(target.read_text())["n"] == 299
    assert [p.name for p in target.parent.iterdir()] == ["churn-1.json"]  # no temporary file left
