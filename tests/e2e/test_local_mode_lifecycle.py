"""Local mode stops cleanly however it is told to, and starts again however it ended.

Each case starts ``serve`` as its own process (embedded PostgreSQL, no DATABASE_URL), with a job training, then
stops it with a signal, and reads from the system what is left: local mode, its PostgreSQL and the job's training
process by pid, both ports, ``postmaster.pid``."""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_mode_process import (
    ROOT,
    LocalModeProcess,
    alive,
    clean_environment,
    port_is_bound,
    postmaster_pid,
)

SLEEPER = "import time\nprint('training', flush=True)\nwhile True:\n    time.sleep(0.2)\n"
STOPPED_BY_SIGNALS: list[int] = []  # jobs the signal cases stopped: the next start finds each Stopped


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One folder for the module's runs: each case also starts on what the one before it left."""
    folder = tmp_path_factory.mktemp("lifecycle")
    yield folder
    subprocess.run(
        [sys.executable, "-m", "local_mode", "stop", "--work-dir", str(folder)], cwd=ROOT, check=False
    )


def training_job(mode: LocalModeProcess, name: str) -> int:
    """A job whose script trains until it is stopped; returned once it is training."""
    status, build = mode.call(
        "POST",
        "/builds",
        {"base_image": "python:3.12-slim", "tag": "sleeper", "files": {"train.py": SLEEPER}},
    )
    assert status == 202, build
    deadline = time.monotonic() + 30
    while build["status"] != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.1)
        _, build = mode.call("GET", f"/builds/{build['id']}")
    assert build["status"] == "SUCCEEDED", build
    body = {"job_name": name, "dataset_uri": "s3://trainforge-datasets/datasets/empty/", "image_uri": build["image_uri"],
            "instance_type": "ml.m5.large", "max_runtime_seconds": 600}  # fmt: skip
    status, job = mode.call("POST", "/jobs", body)
    assert status == 202, job
    mode.wait_for_job(job["id"], ("Training",))
    return int(job["id"])


def assert_nothing_left(mode: LocalModeProcess, pids: list[int]) -> None:
    still = [pid for pid in pids if alive(pid)]
    assert still == [], f"still running: {still}\n{mode.text()}"
    assert not port_is_bound(mode.api_port) and not port_is_bound(mode.aws_port)
    assert not (mode.work_dir / "postgres" / "postmaster.pid").exists()
    assert not (mode.work_dir / "local-mode.json").exists()


@pytest.mark.parametrize(
    ("signum", "group", "background"),
    [
        (signal.SIGINT, False, False),
        (signal.SIGTERM, False, False),
        (signal.SIGHUP, False, False),
        (signal.SIGTERM, True, False),
        (signal.SIGINT, True, True),  # Ctrl-C to the group of a job a script started with '&'
    ],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGTERM-to-group", "SIGINT-to-group-in-background"],
)
def test_a_signal_stops_local_mode_and_everything_it_started(
    work_dir: Path, signum: int, group: bool, background: bool
) -> None:
    mode = LocalModeProcess(work_dir, background=background).start()
    try:
        assert "ended without stopping" not in mode.text()  # the case before this one stopped cleanly too
        name = (
            f"signal-{signal.Signals(signum).name.lower()}-{'group' if group else 'pid'}-{int(time.time())}"
        )
        STOPPED_BY_SIGNALS.append(training_job(mode, name))
        postgres, training = postmaster_pid(work_dir / "postgres"), mode.training_pids(at_least=1)
        assert postgres is not None and len(training) == 1
        pids = [mode.pid, postgres, *training]
        assert all(alive(pid) for pid in pids)
        mode.signal(signum, group=group)
        assert mode.wait() == 0, mode.text()
        assert_nothing_left(mode, pids)
        assert f"stopped ({signal.Signals(signum).name})" in mode.text()
    finally:
        mode.stop()


TGKILL = {"x86_64": 234, "aarch64": 131}  # the syscall that sends a signal to one thread of a process


def test_a_signal_the_kernel_hands_to_another_thread_stops_it_too(work_dir: Path) -> None:
    """kill(2) lets the kernel pick any thread of the process, and Python runs handlers in the main thread only:
    a main thread asleep in time.sleep slept through such a signal (the signal cases' rare 60 s hang). Here the
    signal goes to one of the emulator's or router's threads on purpose."""
    mode = LocalModeProcess(work_dir).start()
    try:
        others = sorted(int(t) for t in os.listdir(f"/proc/{mode.pid}/task") if int(t) != mode.pid)
        assert others, "local mode runs its emulator and router in threads"
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(TGKILL[platform.machine()], mode.pid, others[-1], signal.SIGTERM) == 0
        assert mode.wait(30) == 0, mode.text()
        assert "stopped (SIGTERM)" in mode.text()
    finally:
        mode.stop()


def test_after_kill_9_the_next_start_ends_what_was_left_and_says_so(work_dir: Path) -> None:
    mode = LocalModeProcess(work_dir).start()
    try:
        job_id = training_job(mode, f"killed-{int(time.time())}")
        postgres = postmaster_pid(work_dir / "postgres")
        mode.signal(signal.SIGKILL)
        mode.wait()
    finally:
        mode.stop()
    assert postgres is not None and alive(postgres)  # nothing could stop it: the next start reuses it
    again = LocalModeProcess(work_dir).start()
    try:
        assert "the last run" in again.text() and "ended without stopping" in again.text()
        job = again.wait_for_job(job_id, ("Failed",))
        assert "Local mode ended while this job ran" in job["failure_reason"]
        assert postmaster_pid(work_dir / "postgres") == postgres
        for stopped in STOPPED_BY_SIGNALS:  # each signal's stop told the database before PostgreSQL stopped
            _, earlier = again.call("GET", f"/jobs/{stopped}")
            assert (earlier["status"], earlier["failure_reason"]) == ("Stopped", None), earlier
    finally:
        again.signal(signal.SIGTERM)
        assert again.wait() == 0
    assert_nothing_left(again, [again.pid, postgres])


def test_make_stop_stops_it_and_reset_says_what_it_removes(tmp_path: Path) -> None:
    mode = LocalModeProcess(tmp_path / "local").start()
    postgres = postmaster_pid(tmp_path / "local" / "postgres")
    command = [sys.executable, "-m", "local_mode"]
    try:
        second = subprocess.run(  # one local mode to a folder
            [*command, "serve", "--work-dir", str(mode.work_dir), "--port", "0", "--aws-port", "0"],
            cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 1 and "already running" in second.stdout, second.stdout
        stopped = subprocess.run([*command, "stop", "--work-dir", str(mode.work_dir)], cwd=ROOT,
                                 capture_output=True, text=True, timeout=90, check=False)  # fmt: skip
        assert stopped.returncode == 0 and f"(pid {mode.pid})" in stopped.stdout, stopped.stdout
        assert mode.wait(timeout=5) == 0
    finally:
        mode.stop()
    assert_nothing_left(mode, [mode.pid, postgres or 0])
    reset = subprocess.run([*command, "reset", "--work-dir", str(mode.work_dir)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert reset.returncode == 0, reset.stdout
    for part in ("postgres", "the database", "aws", "the AWS emulator's services"):
        assert part in reset.stdout
    assert not mode.work_dir.exists()


def test_a_taken_port_is_an_error_at_start_not_a_hang(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "local_mode", "serve", "--work-dir", str(tmp_path), "--port", "0",
             "--aws-port", str(port)],
            cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"port {port} for the AWS emulator is taken" in result.stdout and "--aws-port" in result.stdout
    assert time.monotonic() - started < 30
    assert not (tmp_path / "local-mode.json").exists()
