"""The training processes local mode starts, kept so that none outlives it.

Each host of a local job runs in a session of its own: a signal meant for local mode (Ctrl-C reaches the whole
foreground process group) does not kill a job's script under it; local mode stops its jobs itself, in order, and
their state changes are recorded. Each process is written down while it runs (its pid and start time); a local mode
that was killed with ``kill -9`` ends what it left at its next start, and the start time keeps a recycled pid safe.
A process is ended as a group, its children with it (``torchrun`` and data loaders start their own).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil

GRACE_SECONDS = 5.0


def _started_at(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except Exception:  # gone, or not ours to read
        return None


def end_process_group(process: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM to the process's group, as SageMaker stops a container; SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


class ProcessRegistry:
    """``folder/<pid>.json`` for each process running."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def started(self, process: subprocess.Popen[Any], label: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {"pid": process.pid, "started_at": _started_at(process.pid), "label": label}
        (self.folder / f"{process.pid}.json").write_text(json.dumps(entry))

    def ended(self, process: subprocess.Popen[Any]) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / f"{process.pid}.json").unlink()

    def end_leftovers(self) -> list[str]:
        """End every recorded process still running (a killed local mode's); the labels of those ended."""
        ended = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                entry = json.loads(path.read_text())
            except ValueError:
                entry = {}
            pid, started = entry.get("pid"), entry.get("started_at")
            if isinstance(pid, int) and started is not None and _started_at(pid) == started:
                _signal_group(
                    pid, signal.SIGKILL
                )  # its local mode is gone: nothing is waiting for it to save
                ended.append(str(entry.get("label", pid)))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return ended
