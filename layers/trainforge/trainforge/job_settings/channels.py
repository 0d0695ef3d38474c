"""Input channels as SageMaker takes them, and how a configured channel's options map onto them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainforge.job_settings.training_config import TrainingConfig
from trainforge.s3_locations import s3_folder


@dataclass(frozen=True)
class InputChannel:
    """One of a job's input channels, as SageMaker takes it. ``S3Prefix`` reads everything under ``s3_uri``;
    ``ManifestFile`` reads exactly the keys listed in the manifest object at ``s3_uri``."""

    name: str
    s3_uri: str
    s3_data_type: str = "S3Prefix"
    input_mode: str | None = None
    content_type: str | None = None
    compression: str | None = None
    distribution: str = "FullyReplicated"

    def to_sagemaker(self) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "ChannelName": self.name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": self.s3_data_type,
                    "S3Uri": self.s3_uri,
                    "S3DataDistributionType": self.distribution,
                }
            },
        }
        if self.input_mode:
            channel["InputMode"] = self.input_mode
        if self.content_type:
            channel["ContentType"] = self.content_type
        if self.compression:
            channel["CompressionType"] = self.compression
        return channel


def channel_options(channel: dict[str, Any]) -> dict[str, Any]:
    """A configured channel's SageMaker options (everything but where its data is)."""
    return {
        "input_mode": channel.get("input_mode"),
        "content_type": channel.get("content_type"),
        "compression": channel.get("compression"),
        "distribution": channel.get("distribution") or "FullyReplicated",
    }


def prefix_channels(config: TrainingConfig, input_uri: str) -> list[InputChannel]:
    """Channels for input that is a plain S3 folder (no Trainforge manifest): a named channel without its own
    ``s3_uri`` reads the sub-folder of its name; none named means one ``training`` channel reading it all."""
    base = s3_folder(input_uri)
    return [
        InputChannel(c["name"], c.get("s3_uri") or f"{base}{c['name']}/", **channel_options(c))
        for c in config.channels
    ]
