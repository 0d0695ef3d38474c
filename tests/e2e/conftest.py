"""End to end: local mode started as a user starts it (its own process), reached over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trainforge.local.postgres import scratch_database
from trainforge.local.training.hosts import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_api(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """Local mode in its own process, on its own database, for one test module."""
    work = tmp_path_factory.mktemp("local-mode")
    port, aws_port = free_port(), free_port()
    with scratch_database(
        postgres_server_url, f"trainforge_{request.module.__name__.rsplit('.', 1)[-1]}", drop_later=True
    ) as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAINFORGE_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "local_mode", "serve", "--port", str(port), "--aws-port", str(aws_port), "--work-dir", str(work)],
            cwd=ROOT, env={**env, "DATABASE_URL": database_url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Trainforge API:" in line:
                break
            if process.poll() is not None:
                pytest.fail("local mode did not start:\n" + "".join(lines))
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
