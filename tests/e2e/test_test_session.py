"""The test suite leaves nothing running: a session without DATABASE_URL starts a throwaway PostgreSQL of its own
(pgserver) and stops it before its folder is deleted."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.local_mode_process import ROOT, clean_environment


def embedded_test_servers() -> set[int]:
    """Postgres processes serving a test session's throwaway folder (trainforge.local.aws.emulator)."""
    import psutil

    found = set()
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and "trainforge-pg-" in " ".join(process.info["cmdline"] or []):
            found.add(process.pid)
    return found


def test_a_session_on_an_embedded_postgresql_leaves_no_server_running() -> None:
    before = embedded_test_servers()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/integration/test_migrations.py"],
        cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout
    assert embedded_test_servers() - before == set()
