"""``make stop``, ``make reset``, ``make backup`` and ``make restore``: local mode seen from another shell; and the
demo's fresh state.

Stopping sends SIGTERM to the local mode running in the folder (the pid in ``local-mode.json``) and waits for it
to finish its own stop. A local mode that was killed (``kill -9``) stopped nothing: what it left (its PostgreSQL,
training processes) is ended here, as its next start would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from local_mode.environment import LocalModeError
from trainforge.local.discovery import read_state, state_file
from trainforge.local.postgres import EmbeddedPostgres, recreate_database, running_postmaster, stop_server
from trainforge.local.training.processes import ProcessRegistry

STOP_WAIT_SECONDS = 60.0
Say = Callable[..., None]

# What each part of the work folder holds, for reset to say what it removes.
PARTS = {
    "postgres": "the database (jobs, their history and reports, builds, teams, datasets, tuning jobs)",
    "aws": "the AWS emulator's services (S3 objects, queues, logs, metrics, the image repository)",
    "work": "local SageMaker (its jobs' record, training folders, the code of locally built images)",
    "demo": "the demo's own state",
    "local-mode.lock": "the lock that keeps one local mode to a folder",
}


def _is_local_mode(pid: int) -> bool:
    try:
        return "local_mode" in " ".join(psutil.Process(pid).cmdline())
    except Exception:  # gone, or not readable
        return False


def running_pid(work_dir: Path) -> int | None:
    """The pid of the local mode running in ``work_dir``, if one is."""
    state = read_state(work_dir)
    if state is None or not _is_local_mode(state["pid"]):
        return None
    return int(state["pid"])


def clear_leftovers(work_dir: Path, say: Say) -> list[str]:
    """End what a killed local mode left in ``work_dir`` (none may be running there): its PostgreSQL, its
    training processes, its stale ``local-mode.json``."""
    cleared = []
    if running_postmaster(work_dir / "postgres") is not None:
        stop_server(work_dir / "postgres")
        cleared.append(f"stopped PostgreSQL left running on {work_dir / 'postgres'}")
    for label in ProcessRegistry(work_dir / "work" / "processes").end_leftovers():
        cleared.append(f"ended training process {label}, left running")
    if state_file(work_dir).exists():
        state_file(work_dir).unlink()
        cleared.append("removed the stale local-mode.json")
    for line in cleared:
        say(f"  {line}")
    return cleared


def fresh_folder(work_dir: Path, say: Say) -> None:
    """``work_dir`` emptied (the demo's: what it showed last time, or a killed run left, plays no part)."""
    if running_pid(work_dir) is not None:
        raise LocalModeError(f"a demo is already running in {work_dir}: wait for it, or `make stop`")
    if work_dir.exists():
        clear_leftovers(work_dir, say)
        shutil.rmtree(work_dir)


def fresh_database(server_url: str, name: str) -> str:
    """A database ``name`` on ``server_url``'s server, dropped and made again; its URL."""
    try:
        return recreate_database(server_url, name)
    except Exception as exc:
        raise LocalModeError(
            f"could not make the database {name} on DATABASE_URL's server ({exc}): unset DATABASE_URL to use an "
            "embedded PostgreSQL of its own"
        ) from exc


def stop(work_dir: Path, say: Say) -> int:
    stopped_any = False
    for folder in (work_dir, work_dir / "demo"):
        pid = running_pid(folder)
        if pid is not None:
            say(f"stopping local mode in {folder} (pid {pid})")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_WAIT_SECONDS
            while time.monotonic() < deadline and _is_local_mode(pid):
                time.sleep(0.2)
            if _is_local_mode(pid):
                say(
                    f"local mode (pid {pid}) is still stopping after {STOP_WAIT_SECONDS:.0f} s: `kill -9 {pid}`, then `make stop` again"
                )
                return 1
            stopped_any = True
            continue
        if folder.is_dir() and clear_leftovers(folder, say):
            say(f"cleared what a killed local mode left in {folder}")
            stopped_any = True
    if not stopped_any:
        say(f"local mode is not running in {work_dir}")
    return 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


def reset(work_dir: Path, say: Say) -> int:
    if stop(work_dir, say) != 0:
        return 1
    if not work_dir.exists():
        say(f"nothing to reset: {work_dir} does not exist")
        return 0
    say(f"removing local state in {work_dir}:")
    for part in sorted(work_dir.iterdir()):
        what = PARTS.get(part.name, "")
        say(f"  {part.name:<20} {_size(part) / 1e6:8.1f} MB  {what}")
    shutil.rmtree(work_dir)
    say("done: the next `make local` or `make demo` starts afresh")
    return 0


def status(work_dir: Path, say: Say) -> int:
    state = read_state(work_dir)
    pid = running_pid(work_dir)
    if pid is not None and state is not None:
        say(
            f"local mode is running in {work_dir} (pid {pid}): API at {state['api_url']}, AWS emulator at {state['aws_url']}"
        )
        return 0
    say(
        f"local mode is not running in {work_dir}"
        + (" (a killed run left state: `make stop` clears it)" if state else "")
    )
    return 3


@contextlib.contextmanager
def _ledger_database(work_dir: Path) -> Iterator[str]:
    """Local mode's database: DATABASE_URL when set (as local mode uses it), else its embedded server, started
    for the block when no local mode runs it (and stopped again)."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    data_dir = work_dir / "postgres"
    if not data_dir.is_dir():
        raise LocalModeError(f"no local mode database in {data_dir}: start `make local` once first")
    running = running_postmaster(data_dir) is not None
    url = EmbeddedPostgres(data_dir).start()
    try:
        yield url
    finally:
        if not running:
            stop_server(data_dir)


def backup(work_dir: Path, target: Path | None, say: Say) -> int:
    """``make backup``: local mode's ledger (the database) into an archive (trainforge.ledger), running or not."""
    # only backup needs SQLAlchemy and the schema: `make stop` does not load them
    from trainforge.ledger import LedgerError, export_to

    target = target or Path("backups") / time.strftime("ledger-%Y%m%dT%H%M%SZ.tar.gz", time.gmtime())
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _ledger_database(work_dir) as url:
            done = export_to(url, target)
    except (LedgerError, LocalModeError) as refused:
        say(f"backup refused: {refused}")
        return 2
    say(f"ledger backed up: {sum(done.rows.values())} rows of {len(done.rows)} tables in {target} "
        f"(schema {done.revision}); `make restore FILE={target}` brings it back")  # fmt: skip
    return 0


def restore(work_dir: Path, source: Path, say: Say) -> int:
    """``make restore FILE=...``: an archive into local mode's ledger, which must be stopped and empty (after
    `make reset`, or a fresh folder). The archive holds the database only: the emulator's datasets, artifacts
    and logs are not in it, and local mode's start names what it then misses."""
    # only restore needs SQLAlchemy and the schema: `make stop` does not load them
    from trainforge.ledger import LedgerError, LedgerNotEmptyError, import_from

    if running_pid(work_dir) is not None:
        say("restore refused: local mode is running here; `make stop` first")
        return 2
    if not source.is_file():
        say(f"restore refused: no archive {source}")
        return 2
    (work_dir / "postgres").mkdir(parents=True, exist_ok=True)
    try:
        with _ledger_database(work_dir) as url:
            done = import_from(url, source)
    except LedgerNotEmptyError as refused:
        say(f"restore refused: {refused} (`make reset` empties it)")
        return 2
    except LedgerError as refused:
        say(f"restore refused: {refused}")
        return 2
    say(f"ledger restored: {sum(done.rows.values())} rows of {len(done.rows)} tables from {source}; `make local` "
        "serves it")  # fmt: skip
    return 0
