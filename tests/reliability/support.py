"""Fault injection on loopback: a TCP proxy that can cut the database away, and a SageMaker endpoint that
answers with the errors SageMaker gives."""

from __future__ import annotations

import json
import time

from trainforge.local.aws.throttling import Refusal, SageMakerFront
from trainforge.local.wire import WireProxy

# Forwards connections to PostgreSQL (TCP or unix socket); ``cut()`` drops every connection and refuses new
# ones, as a database going down does; ``restore()`` brings it back.
DatabaseCutter = WireProxy


class FaultySageMaker(SageMakerFront):
    """CreateTrainingJob for a job whose name contains a fault word answers that fault (``throttle`` only its
    first ``throttle_times`` attempts; ``slow`` sleeps on its first attempt); everything else passes to moto."""

    FAULTS = {
        "quota": (
            400,
            "ResourceLimitExceeded",
            "The account-level service limit 'ml.m5.large for training job usage' is 0",
        ),
        "invalid": (400, "ValidationException", "Image URI is not valid"),
        "throttle": (400, "ThrottlingException", "Rate exceeded"),
    }

    def __init__(self, upstream: str, *, throttle_times: int = 3, slow_seconds: float = 2.0) -> None:
        super().__init__(upstream)
        self.throttle_times, self.slow_seconds = throttle_times, slow_seconds
        self.attempts: dict[str, int] = {}
        self.start()

    def intercept(self, target: str, body: bytes) -> Refusal | None:
        if target != "SageMaker.CreateTrainingJob":
            return None
        name = json.loads(body).get("TrainingJobName", "")
        attempt = self.attempts[name] = self.attempts.get(name, 0) + 1
        for word, refusal in self.FAULTS.items():
            if word in name and (word != "throttle" or attempt <= self.throttle_times):
                return refusal
        if "slow" in name and attempt == 1:
            time.sleep(self.slow_seconds)
        return None
