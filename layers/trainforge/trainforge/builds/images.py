"""Training images: image references, and the Dockerfile and buildspec CodeBuild builds them from.

Nothing here runs Docker: CodeBuild does, from the files rendered here.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.inputs import check_relative_path

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# registry[:port]/repository[:tag][@digest] — the reference grammar Docker and ECR accept, simplified.
REFERENCE_PATTERN = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<repository>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
MAX_SOURCE_BYTES = 50 * 1024 * 1024
SKIPPED_DIRECTORIES = frozenset(
    {".git", "__pycache__", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}
)


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def repository_uri(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def uri(self) -> str:
        tail = f":{self.tag}" if self.tag else ""
        return f"{self.repository_uri}{tail}" + (f"@{self.digest}" if self.digest else "")


def parse_image_reference(raw: str, *, require_tag: bool = False) -> ImageReference:
    """Parse ``registry/repository[:tag][@digest]``; raise naming what is wrong."""
    match = REFERENCE_PATTERN.fullmatch(raw or "")
    if match is None:
        raise SageMakerConfigurationError(
            f"{raw!r} is not an image reference (registry/repository:tag)", field="image"
        )
    registry, repository, tag = match.group("registry") or "", match.group("repository"), match.group("tag")
    if registry and not ("." in registry or ":" in registry or registry == "localhost"):
        # a first part without a dot or port is a Docker Hub namespace, not a registry
        if not re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", registry):
            raise SageMakerConfigurationError(
                f"{raw!r} is not an image reference (lowercase names)", field="image"
            )
        registry, repository = "", f"{registry}/{repository}"
    if require_tag and not tag:
        raise SageMakerConfigurationError(f"{raw!r} names no tag", field="image")
    return ImageReference(registry, repository, tag, match.group("digest"))


def validate_tag(tag: str) -> None:
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise SageMakerConfigurationError(
            "tag must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", field="tag"
        )


@dataclass(frozen=True)
class BuildRequest:
    base_image: str
    tag: str
    repository_uri: str
    entry_point: str = "train.py"
    source_dir: Path | None = None

    def problems(self) -> list[Problem]:
        found = []
        try:
            parse_image_reference(self.base_image)
        except SageMakerConfigurationError as exc:
            found.append(Problem("base_image", exc.message))
        try:
            validate_tag(self.tag)
        except SageMakerConfigurationError as exc:
            found.append(Problem("tag", exc.message))
        reason = check_relative_path(self.entry_point)
        if reason:
            found.append(Problem("entry_point", reason))
        elif not re.fullmatch(r"[A-Za-z0-9_./-]+", self.entry_point):
            found.append(Problem("entry_point", "may contain only letters, digits, '_', '.', '/' and '-'"))
        if self.source_dir is not None:
            if not self.source_dir.is_dir():
                found.append(Problem("source_dir", f"{self.source_dir} is not a folder"))
            elif not (self.source_dir / self.entry_point).is_file():
                found.append(Problem("entry_point", f"{self.entry_point} is not in {self.source_dir}"))
        return found


def image_environment(entry_point: str) -> dict[str, str]:
    """The training image's own environment: what the SageMaker training toolkit reads to find the code to run
    (a job's ``SAGEMAKER_PROGRAM``, or its ``sagemaker_program`` hyperparameter, overrides it)."""
    return {"SAGEMAKER_PROGRAM": entry_point, "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/code"}


def render_build_files(request: BuildRequest) -> dict[str, str]:
    """The Dockerfile and buildspec for a training image (SageMaker runs the image with the argument 'train')."""
    problems = request.problems()
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "container build")
    base = parse_image_reference(request.base_image)
    dockerfile = "\n".join(
        [
            f"FROM {request.base_image}",
            "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1",
            "COPY code/ /opt/ml/code/",
            "RUN if [ -f /opt/ml/code/requirements.txt ]; then "
            "python -m pip install --no-cache-dir -r /opt/ml/code/requirements.txt; fi",
            "ENV " + " ".join(f"{k}={v}" for k, v in image_environment(request.entry_point).items()),
            "WORKDIR /opt/ml/code",
            f'ENTRYPOINT ["python", "/opt/ml/code/{request.entry_point}"]',
            "",
        ]
    )
    target_registry = request.repository_uri.split("/", 1)[0]
    logins = [
        f"aws ecr get-login-password --region $AWS_REGION | docker login --username AWS --password-stdin {target_registry}"
    ]
    if base.registry.endswith(".amazonaws.com") and base.registry != target_registry:
        region = base.registry.split(".")[3] if base.registry.count(".") >= 4 else "$AWS_REGION"
        logins.append(
            f"aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {base.registry}"
        )
    buildspec_lines = [
        "version: 0.2",
        "env:",
        "  exported-variables:",
        "    - IMAGE_DIGEST",
        "phases:",
        "  pre_build:",
        "    commands:",
        *[f"      - {line}" for line in logins],
        "  build:",
        "    commands:",
        '      - docker build --pull -t "$IMAGE_URI" .',
        "  post_build:",
        "    commands:",
        '      - test "$CODEBUILD_BUILD_SUCCEEDING" = "1"',
        '      - docker push "$IMAGE_URI"',
        '      - IMAGE_DIGEST=$(docker inspect --format "{{index .RepoDigests 0}}" "$IMAGE_URI" | cut -d@ -f2)',
        "",
    ]
    return {"Dockerfile": dockerfile, "buildspec.yml": "\n".join(buildspec_lines)}


def zip_build_source(files: dict[str, str], source_dir: Path | None) -> tuple[bytes, str]:
    """A reproducible zip (fixed timestamps, sorted) of the build files and ``code/``; returns (bytes, sha256)."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name])
        if source_dir is not None:
            for path in sorted(source_dir.rglob("*")):
                relative = path.relative_to(source_dir)
                if not path.is_file() or SKIPPED_DIRECTORIES.intersection(relative.parts):
                    continue
                data = path.read_bytes()
                total += len(data)
                if total > MAX_SOURCE_BYTES:
                    raise SageMakerConfigurationError(
                        "training code is larger than 50 MiB: keep data out of the source folder",
                        field="source_dir",
                    )
                info = zipfile.ZipInfo(f"code/{relative.as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        else:
            archive.writestr(zipfile.ZipInfo("code/.keep", date_time=(1980, 1, 1, 0, 0, 0)), "")
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()
