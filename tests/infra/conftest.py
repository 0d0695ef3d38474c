from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def synthesized() -> Iterator[tuple[Any, Any, str]]:
    """The app synthesized once, with cdk-nag applied (the layer is built first if it changed), and the folder
    its templates were written to."""
    from aws_cdk.assertions import Template

    from stacks.layer_build import build

    build()
    from app import build_app

    with tempfile.TemporaryDirectory(prefix="trainforge-cdk-") as outdir:
        # The example teams: the generated S3 permissions are checked on them (test_team_access.py).
        app, stack = build_app(
            outdir, context={"teams_file": "examples/teams.json", "training_in_vpc": "true"}
        )
        app.synth()
        yield stack, Template.from_stack(stack), outdir


@pytest.fixture(scope="session")
def stack(synthesized: tuple[Any, Any, str]) -> Any:
    return synthesized[0]


@pytest.fixture(scope="session")
def template(synthesized: tuple[Any, Any, str]) -> Any:
    return synthesized[1]


COPY_VAULT = "arn:aws:backup:eu-west-1:123456789012:backup-vault:trainforge-copies"


@pytest.fixture(scope="session")
def prod() -> Iterator[tuple[Any, Any, str]]:
    """The prod stage synthesized with cdk-nag (backups copied to another region's vault)."""
    from aws_cdk.assertions import Template

    from app import build_app

    with tempfile.TemporaryDirectory(prefix="trainforge-cdk-prod-") as outdir:
        app, stack = build_app(outdir, context={"stage": "prod", "backup_copy_vault_arn": COPY_VAULT})
        app.synth()
        yield stack, Template.from_stack(stack), outdir
