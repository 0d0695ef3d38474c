from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from trainforge.builds.images import (
    BuildRequest,
    parse_image_reference,
    render_build_files,
    zip_build_source,
)
from trainforge.errors import SageMakerConfigurationError

REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training"


@pytest.mark.parametrize(
    ("raw", "registry", "repository", "tag"),
    [
        ("python:3.12-slim", "", "python", "3.12-slim"),
        ("library/python:3.12", "", "library/python", "3.12"),
        (f"{REPO}:v1", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "trainforge-training", "v1"),
        ("localhost:5000/team/img", "localhost:5000", "team/img", None),
    ],
)
def test_image_references_parse(raw: str, registry: str, repository: str, tag: str | None) -> None:
    ref = parse_image_reference(raw)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)


@pytest.mark.parametrize("raw", ["", "UPPER/case", "a b", "repo:bad tag", "repo::x"])
def test_bad_references_are_refused(raw: str) -> None:
    with pytest.raises(SageMakerConfigurationError):
        parse_image_reference(raw)


def test_the_dockerfile_and_buildspec_build_and_push_the_image() -> None:
    files = render_build_files(BuildRequest(base_image="python:3.12-slim", tag="v1", repository_uri=REPO))
    dockerfile = files["Dockerfile"]
    assert dockerfile.startswith("FROM python:3.12-slim\n")
    assert 'ENTRYPOINT ["python", "/opt/ml/code/train.py"]' in dockerfile
    buildspec = files["buildspec.yml"]
    assert (
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com"
        in buildspec
    )
    assert 'docker push "$IMAGE_URI"' in buildspec


def test_a_base_image_in_another_ecr_registry_gets_its_own_login() -> None:
    base = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.3-cpu-py311"
    files = render_build_files(BuildRequest(base_image=base, tag="v1", repository_uri=REPO))
    assert (
        "--region eu-west-1 | docker login --username AWS --password-stdin 763104351884"
        in files["buildspec.yml"]
    )


def test_bad_build_requests_name_every_field(tmp_path: Path) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        render_build_files(
            BuildRequest(base_image="NOT AN IMAGE", tag="-bad", repository_uri=REPO, entry_point="../x.py")
        )
    assert {p.field for p in caught.value.problems} == {"base_image", "tag", "entry_point"}
    with pytest.raises(SageMakerConfigurationError, match=r"train\.py is not in"):
        render_build_files(
            BuildRequest(base_image="python:3", tag="v", repository_uri=REPO, source_dir=tmp_path)
        )


def test_the_source_zip_is_reproducible_and_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('hi')")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"x")
    files = {"Dockerfile": "FROM x", "buildspec.yml": "version: 0.2"}
    first, digest = zip_build_source(files, tmp_path)
    second, again = zip_build_source(files, tmp_path)
    assert first == second and digest == again
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["Dockerfile", "buildspec.yml", "code/train.py"]
