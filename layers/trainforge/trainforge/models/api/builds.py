"""The API's shapes for container builds: the request, the build, and a page of builds."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from trainforge.models.api.base import Model, Strict
from trainforge.models.rules import IMAGE_TAG


class BuildRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "base_image": "python:3.12-slim",
                    "tag": "churn",
                    "entry_point": "train.py",
                    "files": {"train.py": "print('training')\n"},
                }
            ]
        }
    )

    base_image: str = Field(min_length=1, max_length=512)
    tag: str = Field(pattern=IMAGE_TAG, description="the image's tag in the training repository")
    entry_point: str = "train.py"
    files: dict[str, str] = Field(default_factory=dict, description="training code, path to text content")


class Build(Model):
    id: int
    build_id: str
    project_name: str
    base_image: str | None
    image_uri: str | None
    image_digest: str | None
    status: str
    current_phase: str | None
    log_url: str | None
    failure_reason: str | None
    created_at: str | None
    updated_at: str | None
    team: str | None = None


class BuildPage(Model):
    builds: list[Build]
    next_cursor: str | None
