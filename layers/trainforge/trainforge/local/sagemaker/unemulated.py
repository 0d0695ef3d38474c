"""What local mode runs differently from SageMaker: said on the job's record, never silent."""

from __future__ import annotations

from typing import Any


def differences_from_sagemaker(request: dict[str, Any]) -> list[str]:
    """What of this request local mode runs differently from SageMaker, for the job's record."""
    notes = []
    resources = request.get("ResourceConfig", {})
    count = int(resources.get("InstanceCount", 1))
    if count > 1:
        notes.append(
            f"local mode runs the {count} hosts as processes on this machine (algo-1 the master, at 127.0.0.1); "
            "ShardedByS3Key gives every host every file"
        )
    for channel in request.get("InputDataConfig", []):
        mode = channel.get("InputMode") or request.get("AlgorithmSpecification", {}).get("TrainingInputMode")
        if mode in ("Pipe", "FastFile"):
            notes.append(
                f"channel {channel['ChannelName']}: {mode} input runs as File (files on disk) locally"
            )
        if channel.get("CompressionType") == "Gzip":
            notes.append(f"channel {channel['ChannelName']}: Gzip data is not decompressed locally")
    if request.get("EnableManagedSpotTraining"):
        notes.append(
            "spot capacity is not emulated locally: the job starts at once, and is interrupted only when asked "
            "(interrupt_training_job), then restarts from its checkpoints"
        )
    if request.get("CheckpointConfig"):
        notes.append(
            "checkpoints: the script's folder is SM_CHECKPOINT_DIR (not /opt/ml/checkpoints), restored from "
            "CheckpointConfig.S3Uri when each attempt starts and saved to it when each attempt ends"
        )
    if resources.get("KeepAlivePeriodInSeconds"):
        notes.append(
            "warm pools: local mode keeps the pool's state as SageMaker does (Available, Reused by a matching "
            "job, Terminated after the keep-alive) but starts every job's processes afresh"
        )
    if request.get("RetryStrategy"):
        notes.append(
            "RetryStrategy: local mode retries failures of its own (S3, the work folder), as SageMaker retries "
            "internal errors; the script's own failure is never retried"
        )
    if request.get("VpcConfig") or request.get("EnableNetworkIsolation"):
        notes.append(
            "VPC and network isolation are not emulated locally: the script runs on this machine's network"
        )
    if resources.get("VolumeKmsKeyId") or request.get("OutputDataConfig", {}).get("KmsKeyId"):
        notes.append("KMS keys are not applied locally: the volume and output use the emulator's defaults")
    if str(resources.get("InstanceType", "")).startswith(("ml.p", "ml.g", "ml.trn")):
        notes.append(f"no accelerator locally: {resources['InstanceType']} runs on this machine's CPUs")
    return notes
