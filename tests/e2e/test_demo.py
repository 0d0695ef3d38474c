"""Local mode end to end: the README's main command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trainforge.local.infrastructure import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_whole_pipeline(postgres_server_url: str, tmp_path: Path) -> None:
    with scratch_database(postgres_server_url, "trainforge_e2e") as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAINFORGE_"))}
        result = subprocess.run(
            [sys.executable, "-m", "local_mode", "demo", "--work-dir", str(tmp_path)],
            cwd=ROOT,
            env={**env, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Completed / Completed" in output
    assert '"validation:accuracy"' in output
    assert "output/model.tar.gz" in output
    assert "Stopped / Stopped" in output
    assert "budget_exceeded" in output and "→ 404" in output
    assert "Completed, trials: Completed 6" in output and "best: churn-tune-" in output
    assert "Demo complete" in output
