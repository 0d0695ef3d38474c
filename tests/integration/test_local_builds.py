from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from trainforge.builds.records import build_change_from_event
from trainforge.local.aws.codebuild import NO_IMAGE_NOTE, LocalContainerBuilder
from trainforge.local.sagemaker.runner import local_sagemaker
from trainforge.settings import Settings


def test_a_local_build_records_the_image_and_says_no_image_was_built(
    aws_resources: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(aws_resources, local_work_dir=str(tmp_path))
    events: list[dict[str, Any]] = []
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hello')\n")
    builder = LocalContainerBuilder(settings, emit=events.append, source_dir=tmp_path / "src")
    image = builder.build_training_container("python:3.12-slim", "v1")
    assert image.endswith("trainforge-training:v1")
    changes = [build_change_from_event(e) for e in events]
    assert [c.status for c in changes] == ["IN_PROGRESS", "SUCCEEDED"]
    assert changes[1].image_digest and changes[1].image_digest.startswith("sha256:")
    assert NO_IMAGE_NOTE in events[1]["detail"]["current-phase-context"]
    code = local_sagemaker(settings).images[image]
    assert (code / "train.py").read_text() == "print('hello')\n"
