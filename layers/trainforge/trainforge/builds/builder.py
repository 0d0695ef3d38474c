"""Training images, built by AWS CodeBuild (never a local Docker) and copied between repositories through ECR's
API: the contract's ``SageMakerContainerBuilder``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainforge.aws import client as aws_client
from trainforge.aws import error_code, error_message
from trainforge.builds.images import (
    BuildRequest,
    ImageReference,
    parse_image_reference,
    render_build_files,
    zip_build_source,
)
from trainforge.errors import DockerContainerError, SageMakerConfigurationError
from trainforge.settings import Settings


@dataclass(frozen=True)
class StartedBuild:
    build_id: str
    image_uri: str
    source_uri: str
    project_name: str
    base_image: str


class SageMakerContainerBuilder:
    """Builder for SageMaker training containers: CodeBuild builds and pushes, ECR's API copies images."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        source_dir: str | Path | None = None,
        entry_point: str = "train.py",
        codebuild_client: Any | None = None,
        s3_client: Any | None = None,
        ecr_client: Any | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.source_dir = Path(source_dir) if source_dir else None
        self.entry_point = entry_point
        self._codebuild = codebuild_client
        self._s3 = s3_client
        self._ecr = ecr_client
        self.last_build: StartedBuild | None = None

    @property
    def codebuild(self) -> Any:
        if self._codebuild is None:
            self._codebuild = aws_client("codebuild", self.settings.region)
        return self._codebuild

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = aws_client("s3", self.settings.region)
        return self._s3

    @property
    def ecr(self) -> Any:
        if self._ecr is None:
            self._ecr = aws_client("ecr", self.settings.region)
        return self._ecr

    def start_build(self, base_image: str, tag: str) -> StartedBuild:
        """Upload the generated build source and start a CodeBuild build; return what it will produce."""
        request = BuildRequest(
            base_image=base_image,
            tag=tag,
            repository_uri=self.settings.ecr_repository_uri,
            entry_point=self.entry_point,
            source_dir=self.source_dir,
        )
        try:
            files = render_build_files(request)
            archive, digest = zip_build_source(files, self.source_dir)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field=exc.field, problems=exc.problems) from None
        key = f"{self.settings.build_source_prefix}{digest}.zip"
        image_uri = f"{self.settings.ecr_repository_uri}:{tag}"
        try:
            self.s3.put_object(Bucket=self.settings.artifacts_bucket, Key=key, Body=archive)
            response = self.codebuild.start_build(
                projectName=self.settings.codebuild_project,
                sourceTypeOverride="S3",
                sourceLocationOverride=f"{self.settings.artifacts_bucket}/{key}",
                buildspecOverride=files["buildspec.yml"],
                environmentVariablesOverride=[
                    {"name": "IMAGE_URI", "value": image_uri, "type": "PLAINTEXT"},
                    {"name": "BASE_IMAGE", "value": base_image, "type": "PLAINTEXT"},
                ],
            )
        except Exception as exc:
            if not error_code(exc):
                raise
            raise DockerContainerError(
                f"CodeBuild could not start the image build: {error_code(exc)}: {error_message(exc)}. "
                f"Check that project {self.settings.codebuild_project!r} exists and the bucket "
                f"{self.settings.artifacts_bucket!r} is writable."
            ) from exc
        build = StartedBuild(
            build_id=response["build"]["id"],
            image_uri=image_uri,
            source_uri=f"s3://{self.settings.artifacts_bucket}/{key}",
            project_name=self.settings.codebuild_project,
            base_image=base_image,
        )
        self.last_build = build
        return build

    def build_training_container(self, base_image: str, tag: str) -> str:
        """Build Docker container for SageMaker training.

        Starts a CodeBuild build from a generated Dockerfile and buildspec and returns the image URI the build
        pushes to; the build's progress arrives as "CodeBuild Build State Change" events (see ``wait_for_build``).

        Raises:
            DockerContainerError: If container build fails to start
        """
        return self.start_build(base_image, tag).image_uri

    def wait_for_build(
        self, build_id: str, *, timeout_seconds: float = 3600, poll_seconds: float = 10
    ) -> dict[str, Any]:
        """Poll CodeBuild until the build ends; raise :class:`DockerContainerError` with its reason on failure."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            builds = self.codebuild.batch_get_builds(ids=[build_id]).get("builds") or []
            if not builds:
                raise DockerContainerError(f"CodeBuild knows no build {build_id!r}", field="build_id")
            build: dict[str, Any] = builds[0]
            status = build.get("buildStatus")
            if status == "SUCCEEDED":
                return build
            if status in ("FAILED", "FAULT", "STOPPED", "TIMED_OUT"):
                raise DockerContainerError(
                    f"image build {build_id} ended {status}: {build_failure_reason(build)}"
                )
            if time.monotonic() > deadline:
                raise DockerContainerError(
                    f"image build {build_id} did not finish within {timeout_seconds:.0f}s"
                )
            time.sleep(poll_seconds)

    def push_to_ecr(self, image_tag: str, ecr_repository_uri: str) -> str:
        """Push Docker image to Amazon ECR: copy an image already in ECR to another repository through ECR's API.

        Args:
            image_tag: the image to copy: ``tag`` (in Trainforge's repository), ``repo:tag`` or a full URI
            ecr_repository_uri: the target repository's URI

        Returns:
            Full ECR image URI

        Raises:
            DockerContainerError: If push fails
        """
        source = self._source_reference(image_tag)
        try:
            target = parse_image_reference(ecr_repository_uri, require_tag=False)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field="ecr_repository_uri") from None
        if target.registry != source.registry:
            raise DockerContainerError(
                f"cannot copy {source.uri} into another registry ({target.registry}) through the ECR API: "
                "set up ECR replication between the registries instead",
                field="ecr_repository_uri",
            )
        tag = source.tag or "latest"
        try:
            found = self.ecr.batch_get_image(
                repositoryName=source.repository,
                imageIds=[{"imageTag": tag}],
                acceptedMediaTypes=[
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                ],
            )
        except Exception as exc:
            if not error_code(exc):
                raise
            raise DockerContainerError(
                f"cannot read {source.uri}: {error_code(exc)}: {error_message(exc)}"
            ) from exc
        images = found.get("images") or []
        if not images:
            reason = (found.get("failures") or [{}])[0].get("failureReason", "image not found")
            raise DockerContainerError(f"cannot copy {source.uri}: {reason}", field="image_tag")
        image = images[0]
        put: dict[str, Any] = {
            "repositoryName": target.repository,
            "imageManifest": image["imageManifest"],
            "imageTag": tag,
        }
        if image.get("imageManifestMediaType"):
            put["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            self.ecr.put_image(**put)
        except Exception as exc:
            code = error_code(exc)
            if code != "ImageAlreadyExistsException":
                if not code:
                    raise
                raise DockerContainerError(
                    f"cannot push to {target.repository_uri}: {code}: {error_message(exc)}"
                ) from exc
        return f"{target.repository_uri}:{tag}"

    def _source_reference(self, image_tag: str) -> ImageReference:
        default_repository = self.settings.ecr_repository_uri
        raw = image_tag if ("/" in image_tag or ":" in image_tag) else f"{default_repository}:{image_tag}"
        if "/" not in raw:  # "repo:tag" in Trainforge's registry
            registry = default_repository.split("/", 1)[0]
            raw = f"{registry}/{raw}"
        try:
            return parse_image_reference(raw, require_tag=True)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field="image_tag") from None


def build_failure_reason(build: dict[str, Any]) -> str:
    """The first failed phase's context message, the way the CodeBuild console shows it."""
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") in ("FAILED", "FAULT", "TIMED_OUT", "STOPPED"):
            contexts = phase.get("contexts") or []
            message = "; ".join(c.get("message", "") for c in contexts if c.get("message"))
            return f"phase {phase.get('phaseType')} {phase.get('phaseStatus')}: {message or 'no message'}"
    return str(build.get("buildStatus", "unknown"))
