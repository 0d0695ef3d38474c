"""Where a running local mode says who it is and where it listens: ``<work folder>/local-mode.json`` (its pid,
API URL and emulator URL), written once it is ready and removed when it stops. The CLI finds ``make local``'s
(``.local`` in the current folder or one above it) when no API URL is given."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "local-mode.json"
DEFAULT_WORK_FOLDER = ".local"  # make local's; the demo's is .local/demo, so the CLI never finds a demo


def state_file(work_dir: Path) -> Path:
    return work_dir / STATE_FILE


def read_state(work_dir: Path) -> dict[str, Any] | None:
    """What a local mode in ``work_dir`` wrote, or None (none started there, or the file is unreadable)."""
    try:
        found = json.loads(state_file(work_dir).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("pid"), int) else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, though not ours to signal
    return True


def running_api_url(start: Path) -> str | None:
    """The API URL of the ``make local`` running for ``start`` or a folder above it, or None."""
    for folder in (start, *start.parents):
        state = read_state(folder / DEFAULT_WORK_FOLDER)
        if state is not None and alive(state["pid"]) and isinstance(state.get("api_url"), str):
            return str(state["api_url"])
    return None
