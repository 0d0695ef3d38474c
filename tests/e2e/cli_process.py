"""`trainforge` as a user runs it: its own process, talking to local mode over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def trainforge(api: str | None, *args: str, cwd: Path = ROOT, timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``trainforge ARGS``; ``api`` None leaves the CLI to find local mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAINFORGE_"))}
    if api is not None:
        env["TRAINFORGE_API_URL"] = api
    result = subprocess.run(
        [sys.executable, "-m", "trainforge.cli", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr
