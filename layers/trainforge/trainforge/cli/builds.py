"""`trainforge build` and `trainforge builds`: training images from a folder of code, built by CodeBuild."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trainforge.cli.context import EXIT_FAILED, CliError, Context, pass_context
from trainforge.cli.output import table
from trainforge.models.status import BuildStatus

DEFAULT_BASE_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
TERMINAL_BUILD = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED")


def wait_for_build(request: Callable[..., Any], build: dict[str, Any], poll: float = 2.0) -> dict[str, Any]:
    """The build as it ended (``request``: an API call, as ``TrainforgeClient.request`` makes it)."""
    while build["status"] not in TERMINAL_BUILD:
        time.sleep(poll)
        build = request("GET", f"/builds/{build['id']}")
    return build


def source_files(source_dir: Path) -> dict[str, str]:
    """The folder's text files by relative path (hidden files and caches left out)."""
    files: dict[str, str] = {}
    for path in sorted(source_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if (
            not path.is_file()
            or "__pycache__" in path.parts
            or any(p.startswith(".") for p in relative.parts)
        ):
            continue
        try:
            files[relative.as_posix()] = path.read_text()
        except UnicodeDecodeError:
            raise CliError(f"{path} is not text: keep data and binaries out of the source folder") from None
    return files


def entry_point_of(files: dict[str, str], given: str | None) -> str:
    """The script the image runs: the one given; else train.py when there is one; else the folder's only
    top-level Python file."""
    if given:
        return given
    scripts = sorted(name for name in files if name.endswith(".py") and "/" not in name)
    if "train.py" in scripts:
        return "train.py"
    if len(scripts) == 1:
        return scripts[0]
    found = ", ".join(scripts) if scripts else "none"
    raise CliError(
        f"which script should the image run? Name it with --entry-point (top-level Python files: {found})",
        code="no_entry_point",
    )


@click.command()
@click.option(
    "--base-image", default=DEFAULT_BASE_IMAGE, show_default=True,
    help="the image to build on: one with Python (Docker Hub's official images, mirrored by ECR Public, which "
    "CodeBuild pulls without Docker Hub's rate limits)",
)  # fmt: skip
@click.option(
    "--source", "source_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="the folder of training code (a requirements.txt in it is installed)",
)  # fmt: skip
@click.option("--tag", default=None, help="image tag (default: a timestamp)")
@click.option(
    "--entry-point", default=None,
    help="the script the image runs (default: train.py, or the folder's only top-level .py file)",
)  # fmt: skip
@click.option("--wait", is_flag=True, help="follow the build until it ends")
@pass_context
def build(
    obj: Context, base_image: str, source_dir: Path, tag: str | None, entry_point: str | None, wait: bool
) -> None:
    """Build a training image with CodeBuild from a folder of training code."""
    files = source_files(source_dir)
    body = {
        "base_image": base_image,
        "tag": tag or time.strftime("v%Y%m%d-%H%M%S"),
        "entry_point": entry_point_of(files, entry_point),
        "files": files,
    }
    started = obj.client.request("POST", "/builds", body)
    current = wait_for_build(obj.client.request, started) if wait else started

    def human() -> None:
        click.echo(f"build {current['id']} {current['status']}: {current['image_uri']} (runs {body['entry_point']})"
                   + (f"\n{current['failure_reason']}" if current.get("failure_reason") else ""))  # fmt: skip

    obj.emit(current, human)
    if current["status"] in TERMINAL_BUILD and current["status"] != "SUCCEEDED":
        sys.exit(EXIT_FAILED)


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--tag", default=None, help="only builds of this image tag")
@click.option(
    "--status",
    default=None,
    type=click.Choice([s.value for s in BuildStatus]),
    help="only builds in this state",
)
@pass_context
def builds(obj: Context, limit: int, tag: str | None, status: str | None) -> None:
    """Container builds, newest first (--tag v3 --status SUCCEEDED: what `--image v3` would use)."""
    page = obj.client.request("GET", "/builds", query={"limit": limit, "tag": tag, "status": status})
    obj.emit(page, lambda: table(page["builds"], [("id", "ID"), ("status", "STATUS"), ("image_uri", "IMAGE"),
                                                  ("created_at", "CREATED")]))  # fmt: skip
