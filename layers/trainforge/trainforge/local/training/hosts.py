"""A local job's hosts: one process per instance (``algo-1`` … ``algo-N``), each with its own folders and the
toolkit's multi-host environment, its log shipped to its own stream.

As SageMaker's PyTorch containers launch a job with ``torch_distributed`` enabled (``torchrun`` on every host,
``algo-1`` the master), each process gets ``MASTER_ADDR``/``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK`` and ``NODE_RANK``, so ``torch.distributed.init_process_group("gloo")`` finds its peers. The hosts
are processes on this machine: ``algo-N`` names do not resolve here, so the master's address is ``127.0.0.1``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from trainforge.aws import client
from trainforge.local.sagemaker.job import LocalJob
from trainforge.local.training.log_shipper import LogShipper, MetricPublisher
from trainforge.local.training.toolkit import decode_hyperparameters, resource_config, training_environment

LOGGER = logging.getLogger(__name__)
LOG_TAIL_LINES = 20
MAX_LOCAL_HOSTS = 8  # processes on one machine: more would only be slower


def host_names(job: LocalJob) -> list[str]:
    count = int(job.request.get("ResourceConfig", {}).get("InstanceCount", 1))
    return [f"algo-{n}" for n in range(1, count + 1)]


def host_paths(paths: dict[str, Path], host: str, hosts: list[str]) -> dict[str, Path]:
    """``algo-1`` works in the job's folders; another host in its own, sharing the job's input data (each host
    receives every file, as FullyReplicated does), with its own resource config."""
    instance_type = json.loads((paths["config"] / "resourceconfig.json").read_text())["current_instance_type"]
    if host == hosts[0]:
        mine = dict(paths)
    else:
        base = paths["root"] / "hosts" / host
        mine = {
            name: base / path.relative_to(paths["root"]) for name, path in paths.items() if name != "root"
        }
        mine["root"] = base
        for path in mine.values():
            path.mkdir(parents=True, exist_ok=True)
        for name in ("hyperparameters.json", "inputdataconfig.json"):
            (mine["config"] / name).write_text((paths["config"] / name).read_text())
        data = mine["input"] / "data"
        if not data.exists():
            data.symlink_to(paths["input"] / "data", target_is_directory=True)
    config = resource_config(instance_type, current_host=host, hosts=hosts)
    (mine["config"] / "resourceconfig.json").write_text(json.dumps(config))
    return mine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def host_environment(
    job: LocalJob, paths: dict[str, Path], program: str, module_dir: str, *, master_port: int
) -> tuple[dict[str, str], list[str]]:
    """What the toolkit gives a script on this host: every SM_* variable, the command-line arguments, and for
    ``torch_distributed`` what ``torchrun`` sets."""
    config = paths["config"]
    resources = json.loads((config / "resourceconfig.json").read_text())
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    variables, args = training_environment(
        job_name=job.name,
        hyperparameters=hyperparameters,
        input_config=json.loads((config / "inputdataconfig.json").read_text()),
        resources=resources,
        base=paths["root"],
        program=program,
        module_dir=module_dir,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_", "DATABASE_"))}
    env.update(variables)
    env.update(
        {
            "TRAINING_JOB_NAME": job.name,
            "PYTHONUNBUFFERED": "1",
            "SM_CHECKPOINT_DIR": str(paths["checkpoints"]),
        }
    )
    if decode_hyperparameters(hyperparameters).get("sagemaker_torch_distributed_enabled") is True:
        hosts = list(resources["hosts"])
        rank = hosts.index(resources["current_host"])
        env.update({
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(master_port), "WORLD_SIZE": str(len(hosts)),
            "RANK": str(rank), "NODE_RANK": str(rank), "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
        })  # fmt: skip
    env.update({str(k): str(v) for k, v in job.request.get("Environment", {}).items()})
    return env, args


def start(code_dir: Path, program: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The host's process, in a session of its own: local mode stops it (trainforge.local.training.processes)."""
    return subprocess.Popen(  # noqa: S603 - the user's own entry point, run as SageMaker would
        [sys.executable, str(code_dir / program), *args],
        cwd=code_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stream_output(
    job: LocalJob,
    process: subprocess.Popen[str],
    host: str,
    log_path: Path,
    tail: list[str],
    region: str,
    *,
    metrics: bool,
) -> None:
    """A host's output: to its log file and its CloudWatch stream; the master's lines also give the metrics."""
    assert process.stdout is not None
    definitions = [
        (d["Name"], re.compile(d["Regex"]))
        for d in job.request.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    ] if metrics else []  # fmt: skip
    shipper = LogShipper(client("logs", region), job.name, host)
    publisher = MetricPublisher(client("cloudwatch", region), job.name)
    try:
        with log_path.open("w") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                shipper.write(line)
                tail.append(line.rstrip())
                del tail[:-LOG_TAIL_LINES]
                for name, pattern in definitions:
                    match = pattern.search(line)
                    if match:
                        try:
                            value = float(match.group(1))
                        except (ValueError, IndexError):
                            continue
                        job.metrics[name] = value
                        job.series.setdefault(name, []).append(value)
                        publisher.record(name, value)
    finally:
        for sender, what in ((shipper, "logs"), (publisher, "metrics")):
            sender.close()
            if sender.failed:
                LOGGER.warning("%s: %s not written to CloudWatch: %s", job.name, what, sender.failed[:300])
