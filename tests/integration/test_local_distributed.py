"""Distributed jobs in local mode: one process per host with the toolkit's multi-host environment, so that a real
``torch.distributed`` script (gloo, ``env://``) trains across them."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import boto3
import torch

from tests.integration.test_local_runner import local, wait_until
from tests.training_code import upload_code
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.services.sagemaker_training_service import SageMakerJobConfig

__all__ = ["local"]  # the fixture, shared with the local runner's tests

# A data-parallel PyTorch script as the SDK's torch_distributed runs it: DistributedDataParallel over gloo, the
# process group from torchrun's variables. The targets are offset +0.5 on even rows and -0.5 on odd ones, and the
# sampler deals even rows to rank 0 and odd ones to rank 1: alone, rank 0 would learn a bias of 1.5 and rank 1 of
# 0.5; only gradients averaged across the hosts give both the bias of 1.0 of the whole data set.
DDP = """
import json, os, sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
assert json.loads(os.environ["SM_HOSTS"])[rank] == os.environ["SM_CURRENT_HOST"]
torch.manual_seed(0)
x = torch.linspace(-1, 1, 64).unsqueeze(1)
offset = torch.tensor([0.5, -0.5]).repeat(32).unsqueeze(1)
data = TensorDataset(x, 3 * x + 1 + offset)
sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=False)
model = DistributedDataParallel(torch.nn.Linear(1, 1))
optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(30):
    sampler.set_epoch(epoch)
    for features, target in DataLoader(data, batch_size=8, sampler=sampler):
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(features), target).backward()
        optimiser.step()
weight, bias = model.module.weight.item(), model.module.bias.item()
everyone = [torch.zeros(2) for _ in range(world)]
dist.all_gather(everyone, torch.tensor([weight, bias]))
agree = all(torch.equal(t, everyone[0]) for t in everyone)
print(f"rank={rank} world={world} weight={weight:.4f} bias={bias:.4f} ranks_agree={int(agree)}", flush=True)
if rank == 0:
    torch.save(model.module.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
dist.barrier()  # every rank done before any leaves
# Out without C++ teardown: gloo's threads may abort a rank at exit whose peer left first ("terminate called
# without an active exception", code -6), seen once in CI even after destroy_process_group.
sys.stdout.flush()
os._exit(0)
"""

# A host that fails while the master waits for its peers (over plain sockets: no PyTorch start-up to pay for).
FAILING_HOST = """
import os, socket, sys, time
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
if os.environ.get("FAIL_RANK") == str(rank):
    sys.exit(7)
if os.environ.get("ABORT_RANK") == str(rank):
    os.abort()  # as a native library's crash ends a process: by a signal, not an exit code
if rank == 0:
    server = socket.create_server((os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])))
    peers = [server.accept()[0] for _ in range(world - 1)]
time.sleep(60)
"""


def distributed_request(name: str, count: int, script: str, **environment: str) -> dict[str, Any]:
    code = upload_code(name, script)
    config = TrainingConfig(
        job_name=name, instance_count=count, max_runtime_seconds=120, environment_variables=environment,
        distribution={"torch_distributed": {"enabled": True}},
        hyperparameters={"sagemaker_submit_directory": code,
                         "sagemaker_program": "train.py"},
        metric_definitions=[{"Name": "weight", "Regex": r"weight=([-0-9.]+)"},
                            {"Name": "bias", "Regex": r"bias=([-0-9.]+)"},
                            {"Name": "ranks_agree", "Regex": r"ranks_agree=([01])"}],
    )  # fmt: skip
    return SageMakerJobConfig.from_training_config(
        config, input_data_s3_uri="s3://trainforge-datasets/datasets/rows/",
        output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution", image_uri="local",
    ).to_sagemaker_config()  # fmt: skip


def test_a_torch_distributed_job_trains_across_its_hosts_over_gloo(local: Any) -> None:
    runner, _ = local
    request = distributed_request("local-ddp", 2, DDP)
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    runner.create_training_job(**request)
    described = wait_until(runner, "local-ddp", ("Completed", "Failed"), timeout=90)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    # The metrics are read from the master's (algo-1) lines.
    final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert final["ranks_agree"] == 1.0
    assert abs(final["weight"] - 3.0) < 0.05 and abs(final["bias"] - 1.0) < 0.05, final
    logs = boto3.client("logs", region_name="us-east-1")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="local-ddp/"
    )["logStreams"]
    assert sorted(s["logStreamName"].split("/")[1].rsplit("-", 1)[0] for s in streams) == ["algo-1", "algo-2"]
    second = next(s["logStreamName"] for s in streams if "/algo-2-" in s["logStreamName"])
    lines = [e["message"] for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=second)["events"]]  # fmt: skip
    assert any(line.startswith("rank=1 world=2 ") and line.endswith("ranks_agree=1") for line in lines), lines
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"].split("/", 3)[3]
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket="trainforge-artifacts", Key=artifact)
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read())) as tar:
        state = torch.load(tar.extractfile("model.pt"), weights_only=True)  # type: ignore[arg-type]
    assert abs(state["weight"].item() - final["weight"]) < 1e-3


def test_when_one_host_fails_the_job_fails_naming_it(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**distributed_request("local-ddp-fail", 3, FAILING_HOST, FAIL_RANK="2"))
    described = wait_until(runner, "local-ddp-fail", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Failed"
    assert "exited with code 7 on algo-3" in described["FailureReason"]


def test_a_host_killed_by_a_signal_is_named_not_the_hosts_ended_because_of_it(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**distributed_request("local-ddp-abort", 3, FAILING_HOST, ABORT_RANK="1"))
    described = wait_until(runner, "local-ddp-abort", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Failed"
    assert "exited with code -6 on algo-2" in described["FailureReason"]
