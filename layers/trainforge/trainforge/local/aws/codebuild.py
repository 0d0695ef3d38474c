"""Container builds in local mode: the CodeBuild code path without Docker.

The build files are rendered and validated and the source archive goes to S3 and CodeBuild (the emulator) as in
AWS; then, instead of building, the image is recorded under a content-addressed digest and its training code is
registered with the local SageMaker, so jobs naming the image run that code. The build's events say plainly that
no image was built.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainforge.builds.images import image_environment
from trainforge.local.aws.events import aws_event, eventbridge_sink
from trainforge.local.sagemaker.runner import local_sagemaker
from trainforge.s3_locations import split_s3_uri
from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder, StartedBuild
from trainforge.settings import Settings

NO_IMAGE_NOTE = "local mode: Dockerfile and buildspec validated; no image was built (no Docker here)"


class LocalContainerBuilder(SageMakerContainerBuilder):
    def __init__(
        self, settings: Settings, *, emit: Callable[[dict[str, Any]], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self.emit = emit or eventbridge_sink(settings)

    def start_build(self, base_image: str, tag: str) -> StartedBuild:
        build = super().start_build(base_image, tag)
        digest = build.source_uri.rsplit("/", 1)[-1].removesuffix(".zip")
        bucket, key = split_s3_uri(build.source_uri)
        archive = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        code_dir = Path(self.settings.local_work_dir) / "images" / digest / "code"
        code_dir.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(archive)) as source:
            for member in source.namelist():
                if member.startswith("code/") and not member.endswith("/") and ".." not in member.split("/"):
                    target = code_dir / member.removeprefix("code/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(source.read(member))
        runner = local_sagemaker(self.settings)
        repository = self.settings.ecr_repository_uri
        for image in (build.image_uri, f"{repository}@sha256:{digest}"):
            runner.register_image(image, code_dir, image_environment(self.entry_point))
        for status, phase in (("IN_PROGRESS", "BUILD"), ("SUCCEEDED", "COMPLETED")):
            self.emit(self._event(build, status, phase, f"sha256:{digest}"))
        return build

    def _event(self, build: StartedBuild, status: str, phase: str, digest: str) -> dict[str, Any]:
        arn = f"arn:aws:codebuild:{self.settings.region}:{self.settings.account_id}:build/{build.build_id}"
        stamp = datetime.now(UTC).strftime("%b %d, %Y %I:%M:%S %p")
        info: dict[str, Any] = {
            "environment": {
                "environment-variables": [
                    {"name": "IMAGE_URI", "value": build.image_uri, "type": "PLAINTEXT"},
                    {"name": "BASE_IMAGE", "value": build.base_image, "type": "PLAINTEXT"},
                ]
            },
            "build-complete": status != "IN_PROGRESS",
            "build-start-time": stamp,
            "logs": {"deep-link": f"file://{self.settings.local_work_dir}/images"},
            "phases": [
                {"phase-type": "BUILD", "phase-status": "SUCCEEDED", "phase-context": [NO_IMAGE_NOTE]}
            ],
        }
        if status == "SUCCEEDED":
            info["exported-environment-variables"] = [{"name": "IMAGE_DIGEST", "value": digest}]
        return aws_event(
            self.settings,
            source="aws.codebuild",
            detail_type="CodeBuild Build State Change",
            resource=arn,
            detail={
                "build-status": status,
                "project-name": build.project_name,
                "build-id": arn,
                "additional-information": info,
                "current-phase": phase,
                "current-phase-context": f"[{NO_IMAGE_NOTE}]",
                "version": "1",
            },
        )
