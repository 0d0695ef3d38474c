"""Local SageMaker when local mode stops and starts: the processes it started cannot outlive it, while its
record of jobs does (:mod:`trainforge.local.sagemaker.record`). Stopping stops what runs, as SageMaker's own stop
calls would, and says why; starting after a run that was killed ends what that run left running."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from trainforge.local.sagemaker.job import LocalJob
from trainforge.local.sagemaker.tuner import LocalTuningJob
from trainforge.local.training.processes import ProcessRegistry

STOPPED_WITH_LOCAL_MODE = "Local mode stopped, and its jobs with it"
ENDED_WITH_LOCAL_MODE = "Local mode ended while this job ran (killed, or its machine stopped) and its processes with it: submit it again"
LOST_BY_LOCAL_MODE = "Local mode has no record of this job (its saved state was lost or reset) and cannot run it on: submit it again"


class LocalModeLifecycle:
    """A mixin of :class:`trainforge.local.sagemaker.runner.LocalSageMaker` (its jobs, lock, threads and publishing)."""

    settings: Any
    jobs: dict[str, LocalJob]
    processes: ProcessRegistry
    _lock: threading.Lock
    _threads: list[threading.Thread]
    _closed: bool

    @property
    def tuning_jobs(self) -> dict[str, LocalTuningJob]:  # provided by LocalTuning
        raise NotImplementedError

    def stop_training_job(self, TrainingJobName: str, *, why: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def stop_hyper_parameter_tuning_job(self, HyperParameterTuningJobName: str) -> dict[str, Any]:
        raise NotImplementedError

    def _publish(self, job: LocalJob) -> None:
        raise NotImplementedError

    def _publish_tuning(self, tuning: LocalTuningJob) -> None:
        raise NotImplementedError

    def _change_pool(self, job: LocalJob, status: str, *, reused_by: str | None = None) -> None:
        raise NotImplementedError

    def shutdown(self, timeout: float = 30.0) -> None:
        """Local mode is stopping, and the processes it started cannot outlive it: every running tuning job and
        job is stopped as StopHyperParameterTuningJob and StopTrainingJob stop them (their events say why), and
        every warm pool is let go. Returns once their last events are published."""
        for tuning in list(self.tuning_jobs.values()):
            if tuning.status == "InProgress":
                with contextlib.suppress(ClientError):  # it ended meanwhile
                    self.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning.name)
        for job in list(self.jobs.values()):
            if job.status == "InProgress":
                with contextlib.suppress(ClientError):
                    self.stop_training_job(TrainingJobName=job.name, why=STOPPED_WITH_LOCAL_MODE)
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closed = True  # a warm pool's timer firing after this changes nothing
            pools = [
                job
                for job in self.jobs.values()
                if (job.warm_pool or {}).get("Status") in ("Available", "InUse")
            ]
            for job in pools:
                self._change_pool(job, "Terminated")
        for job in pools:
            self._publish(job)

    def recover(self) -> list[str]:
        """At start: end what the last run left running (a run that was killed stopped nothing). Its training
        processes are ended; a job or tuning job it recorded as running ends Failed, saying why (one it was
        stopping ends Stopped), and a warm pool it kept is Terminated; each change is published, so the database
        hears of it. What was done, one line each."""
        done = [f"ended training process {label}, left running" for label in self.processes.end_leftovers()]
        for job in list(self.jobs.values()):
            if job.status == "InProgress":
                job.failure_reason = ENDED_WITH_LOCAL_MODE
                job.move("Failed", "Failed", "Training job failed")
            elif job.status == "Stopping":
                job.move("Stopped", "Stopped", job.stop_reason or "The training job was stopped")
            elif (job.warm_pool or {}).get("Status") in ("Available", "InUse"):
                job.warm_pool = {**(job.warm_pool or {}), "Status": "Terminated"}
                job.touch()
            else:
                continue
            done.append(f"job {job.name}: {job.status} (local mode ended while it ran)")
            self._publish(job)
        for tuning in list(self.tuning_jobs.values()):
            if tuning.status in ("InProgress", "Stopping"):
                tuning.failure_reason = ENDED_WITH_LOCAL_MODE if tuning.status == "InProgress" else None
                tuning.touch("Failed" if tuning.status == "InProgress" else "Stopped")
                done.append(f"tuning job {tuning.name}: {tuning.status} (local mode ended while it ran)")
                self._publish_tuning(tuning)
        return done

    def end_lost_job(self, name: str, arn: str | None) -> None:
        """A job the database follows as running but this record lacks (its files were lost): it is Failed,
        saying why, and published, so nothing waits on it for ever."""
        with self._lock:
            if name in self.jobs:
                return
            job = LocalJob({"TrainingJobName": name}, arn or self._arn("training-job", name))
            self.jobs[name] = job
        job.failure_reason = LOST_BY_LOCAL_MODE
        job.move("Failed", "Failed", "Training job failed")
        self._publish(job)

    def end_lost_tuning_job(self, name: str, arn: str | None) -> None:
        with self._lock:
            if name in self.tuning_jobs:
                return
            request = {
                "HyperParameterTuningJobName": name,
                "HyperParameterTuningJobConfig": {},
                "TrainingJobDefinition": {},
            }
            tuning = LocalTuningJob(request, arn or self._arn("hyper-parameter-tuning-job", name))
            self.tuning_jobs[name] = tuning
        tuning.failure_reason = LOST_BY_LOCAL_MODE
        tuning.touch("Failed")
        self._publish_tuning(tuning)

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.settings.region}:{self.settings.account_id}:{kind}/{name.lower()}"
