"""Local mode's job keeps SageMaker's clock: every transition strictly later than the last, in milliseconds."""

from __future__ import annotations

from datetime import timedelta

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
