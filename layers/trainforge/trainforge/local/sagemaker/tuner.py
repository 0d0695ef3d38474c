"""Local SageMaker's hyperparameter tuning: ``CreateHyperParameterTuningJob`` answered by choosing trials (every
combination for Grid; random draws over the ranges, with their scaling, for the other strategies), running each
as a real local training job within ``MaxParallelTrainingJobs``, and publishing the tuning job's state changes as
SageMaker does (counts, best trial by the objective)."""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from trainforge.local.aws.events import aws_event
from trainforge.local.sagemaker.early_stopping import worse_than_median
from trainforge.local.sagemaker.job import EPOCH, TERMINAL, _millis, sagemaker_error

TUNING_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
POLL_SECONDS = 0.05


class LocalTuningJob:
    def __init__(self, request: dict[str, Any], arn: str) -> None:
        self.request = copy.deepcopy(request)
        self.arn = arn
        self.status = "InProgress"
        self.created = self.modified = datetime.now(UTC)
        self.ended: datetime | None = None
        self.trials: list[str] = []  # the training jobs' names, in the order started
        self.stopped_early: set[str] = set()
        self.stop_requested = threading.Event()
        self.failure_reason: str | None = None

    @property
    def name(self) -> str:
        return str(self.request["HyperParameterTuningJobName"])

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.request["HyperParameterTuningJobConfig"])

    def touch(self, status: str | None = None) -> None:
        """A change: a newer LastModifiedTime (strictly, in SageMaker's milliseconds), and the status."""
        now, last = datetime.now(UTC), _millis(self.modified) or 0
        self.modified = now if (_millis(now) or 0) > last else EPOCH + timedelta(milliseconds=last + 1)
        if status:
            self.status = status
            if status in TERMINAL:
                self.ended = self.modified


def draw_trials(config: dict[str, Any], count: int, seed: int | None) -> list[dict[str, str]]:
    """The hyperparameter values of each trial: Grid's combinations in order, else random draws."""
    ranges = config.get("ParameterRanges", {})
    categorical = ranges.get("CategoricalParameterRanges", [])
    if config.get("Strategy") == "Grid":
        names = [r["Name"] for r in categorical]
        return [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*(r["Values"] for r in categorical))
        ]
    rng = random.Random(seed)  # noqa: S311 - a search, not security
    trials = []
    for _ in range(count):
        values: dict[str, str] = {}
        for searched in ranges.get("ContinuousParameterRanges", []):
            values[searched["Name"]] = repr(_draw(rng, searched, integer=False))
        for searched in ranges.get("IntegerParameterRanges", []):
            values[searched["Name"]] = str(round(_draw(rng, searched, integer=True)))
        for searched in categorical:
            values[searched["Name"]] = rng.choice(searched["Values"])
        trials.append(values)
    return trials


def _draw(rng: random.Random, searched: dict[str, Any], *, integer: bool) -> float:
    low, high = float(searched["MinValue"]), float(searched["MaxValue"])
    scaling = searched.get("ScalingType", "Auto")
    if scaling == "Logarithmic":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if scaling == "ReverseLogarithmic":
        return 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    if integer:
        return float(rng.randint(int(low), int(high)))
    return rng.uniform(low, high)


class LocalTuning:
    """The tuning operations of :class:`trainforge.local.sagemaker.runner.LocalSageMaker` (a mixin: it provides
    ``create_training_job``, ``jobs``, ``settings``, ``emit`` and its lock)."""

    settings: Any
    emit: Any
    jobs: dict[str, Any]
    record: Any  # the runner's SageMakerRecord
    _lock: threading.Lock
    _threads: list[threading.Thread]

    def create_training_job(self, **request: Any) -> dict[str, Any]:  # provided by LocalSageMaker
        raise NotImplementedError

    def stop_training_job(self, TrainingJobName: str) -> dict[str, Any]:  # provided by LocalSageMaker
        raise NotImplementedError

    @property
    def tuning_jobs(self) -> dict[str, LocalTuningJob]:
        found: dict[str, LocalTuningJob] | None = getattr(self, "_tuning_jobs", None)
        if found is None:
            found = {}
            self._tuning_jobs = found
        return found

    def create_hyper_parameter_tuning_job(self, **request: Any) -> dict[str, Any]:
        name = request.get("HyperParameterTuningJobName")
        if not isinstance(name, str) or not TUNING_NAME.fullmatch(name):
            raise sagemaker_error(
                "ValidationException", "HyperParameterTuningJobName", "CreateHyperParameterTuningJob"
            )
        arn = (
            f"arn:aws:sagemaker:{self.settings.region}:{self.settings.account_id}:"
            f"hyper-parameter-tuning-job/{name.lower()}"
        )
        with self._lock:  # two deliveries of one submission: one tuning job, the other told it exists
            if name in self.tuning_jobs:
                raise sagemaker_error(
                    "ResourceInUse", f"tuning job {name} exists", "CreateHyperParameterTuningJob"
                )
            tuning = LocalTuningJob(request, arn)
            self.tuning_jobs[name] = tuning
        self._publish_tuning(tuning)
        thread = threading.Thread(target=self._tune, args=(tuning,), name=f"tune-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return {"HyperParameterTuningJobArn": arn}

    def describe_hyper_parameter_tuning_job(self, HyperParameterTuningJobName: str) -> dict[str, Any]:
        tuning = self.tuning_jobs.get(HyperParameterTuningJobName)
        if tuning is None:
            raise sagemaker_error(
                "ResourceNotFound",
                f"no tuning job {HyperParameterTuningJobName}",
                "DescribeHyperParameterTuningJob",
            )
        return self._describe_tuning(tuning, for_event=False)

    def stop_hyper_parameter_tuning_job(self, HyperParameterTuningJobName: str) -> dict[str, Any]:
        tuning = self.tuning_jobs.get(HyperParameterTuningJobName)
        if tuning is None or tuning.status != "InProgress":
            raise sagemaker_error(
                "ValidationException",
                f"{HyperParameterTuningJobName} is not in progress",
                "StopHyperParameterTuningJob",
            )
        tuning.touch("Stopping")
        tuning.stop_requested.set()
        self._publish_tuning(tuning)
        return {}

    # -- running it ------------------------------------------------------------------------------------------

    def _tune(self, tuning: LocalTuningJob) -> None:
        config = tuning.config
        limits = config["ResourceLimits"]
        todo = draw_trials(config, int(limits["MaxNumberOfTrainingJobs"]), config.get("RandomSeed"))
        parallel = int(limits["MaxParallelTrainingJobs"])
        running: list[str] = []
        while todo or running:
            if tuning.stop_requested.is_set():
                for name in running:
                    with contextlib.suppress(Exception):  # it ended meanwhile
                        self.stop_training_job(TrainingJobName=name)
                todo = []
            while todo and len(running) < parallel and not tuning.stop_requested.is_set():
                running.append(self._start_trial(tuning, todo.pop(0)))
            time.sleep(POLL_SECONDS)
            if config.get("TrainingJobEarlyStoppingType") == "Auto":
                self._stop_early(tuning, running)
            ended = [name for name in running if self.jobs[name].status in TERMINAL]
            for name in ended:
                running.remove(name)
            if ended:
                tuning.touch()
                self._publish_tuning(tuning)
        counts = self._counts(tuning)[0]
        if tuning.stop_requested.is_set():
            tuning.touch("Stopped")
        elif counts["Completed"] == 0:
            tuning.failure_reason = "No training job succeeded"
            tuning.touch("Failed")
        else:
            tuning.touch("Completed")
        self._publish_tuning(tuning)

    def _stop_early(self, tuning: LocalTuningJob, running: list[str]) -> None:
        """Stop the running trials whose objective falls below the median of the ended ones' so far."""
        objective = tuning.config["HyperParameterTuningJobObjective"]
        metric, maximize = objective["MetricName"], objective["Type"] == "Maximize"
        ended = [
            list(self.jobs[name].series.get(metric, []))
            for name in tuning.trials
            if self.jobs[name].status in TERMINAL
        ]
        for name in running:
            job = self.jobs[name]
            if job.status != "InProgress" or name in tuning.stopped_early:
                continue
            if worse_than_median(list(job.series.get(metric, [])), ended, maximize=maximize):
                with contextlib.suppress(Exception):  # it ended meanwhile
                    self.stop_training_job(TrainingJobName=name)
                    tuning.stopped_early.add(name)

    def _start_trial(self, tuning: LocalTuningJob, values: dict[str, str]) -> str:
        definition = copy.deepcopy(tuning.request["TrainingJobDefinition"])
        static = definition.pop("StaticHyperParameters", {})
        name = f"{tuning.name}-{len(tuning.trials) + 1:03d}-{uuid.uuid4().hex[:8]}"
        self.create_training_job(
            **definition,
            TrainingJobName=name,
            HyperParameters={**static, **values},
            TuningJobArn=tuning.arn,
            Tags=tuning.request.get("Tags", []),
        )
        tuning.trials.append(name)
        return name

    def _objective(self, tuning: LocalTuningJob, name: str) -> float | None:
        metric = tuning.config["HyperParameterTuningJobObjective"]["MetricName"]
        value = self.jobs[name].metrics.get(metric)
        return float(value) if isinstance(value, (int, float)) else None

    def _counts(self, tuning: LocalTuningJob) -> tuple[dict[str, int], dict[str, int]]:
        training = {
            "Completed": 0,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": 0,
            "Stopped": 0,
        }
        objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        for name in tuning.trials:
            status = self.jobs[name].status
            training[
                {"Failed": "NonRetryableError"}.get(status, status if status in training else "InProgress")
            ] += 1
            if status not in TERMINAL:
                objective["Pending"] += 1
            elif status == "Completed" and self._objective(tuning, name) is not None:
                objective["Succeeded"] += 1
            else:
                objective["Failed"] += 1
        return training, objective

    def _best(self, tuning: LocalTuningJob) -> dict[str, Any] | None:
        objective = tuning.config["HyperParameterTuningJobObjective"]
        scored = [
            (value, name)
            for name in tuning.trials
            if self.jobs[name].status == "Completed" and (value := self._objective(tuning, name)) is not None
        ]
        if not scored:
            return None
        # The first trial to reach the best value wins a tie, as the trials are listed (oldest first).
        pick = max if objective["Type"] == "Maximize" else min
        value, name = pick(scored, key=lambda scored_trial: scored_trial[0])
        job = self.jobs[name].describe(for_event=True)
        return {
            "TrainingJobName": name,
            "TrainingJobArn": job["TrainingJobArn"],
            "CreationTime": job["CreationTime"],
            "TrainingStartTime": job.get("TrainingStartTime"),
            "TrainingEndTime": job.get("TrainingEndTime"),
            "TrainingJobStatus": job["TrainingJobStatus"],
            "TunedHyperParameters": {
                k: v
                for k, v in job["HyperParameters"].items()
                if k not in tuning.request["TrainingJobDefinition"].get("StaticHyperParameters", {})
            },
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "MetricName": objective["MetricName"],
                "Value": value,
            },
            "ObjectiveStatus": "Succeeded",
        }

    def _describe_tuning(self, tuning: LocalTuningJob, *, for_event: bool) -> dict[str, Any]:
        stamp = _millis if for_event else (lambda d: d)
        training, objective = self._counts(tuning)
        described: dict[str, Any] = {
            "HyperParameterTuningJobName": tuning.name,
            "HyperParameterTuningJobArn": tuning.arn,
            "HyperParameterTuningJobConfig": tuning.config,
            "TrainingJobDefinition": tuning.request["TrainingJobDefinition"],
            "HyperParameterTuningJobStatus": tuning.status,
            "CreationTime": stamp(tuning.created),
            "LastModifiedTime": stamp(tuning.modified),
            "TrainingJobStatusCounters": training,
            "ObjectiveStatusCounters": objective,
        }
        if tuning.ended:
            described["HyperParameterTuningEndTime"] = stamp(tuning.ended)
        if tuning.failure_reason:
            described["FailureReason"] = tuning.failure_reason
        best = self._best(tuning)
        if best:
            described["BestTrainingJob"] = best
        if for_event:
            described["Tags"] = {t["Key"]: t["Value"] for t in tuning.request.get("Tags", [])}
        return described

    def _publish_tuning(self, tuning: LocalTuningJob) -> None:
        self.record.save_tuning_job(tuning)
        if self.emit is None:
            return
        self.emit(
            aws_event(
                self.settings,
                source="aws.sagemaker",
                detail_type="SageMaker HyperParameter Tuning Job State Change",
                resource=tuning.arn,
                detail=self._describe_tuning(tuning, for_event=True),
            )
        )
