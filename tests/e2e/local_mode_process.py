"""Local mode as a user starts it: ``python -m local_mode serve`` in a process of its own, reached over HTTP,
stopped with a signal. What it leaves behind is read from the system (processes by pid, ports, files)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from trainforge.local.training.hosts import free_port

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 90.0


def clean_environment(**extra: str) -> dict[str, str]:
    """The test process's environment without its AWS and Trainforge settings (local mode sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAINFORGE_", "DATABASE_URL"))}
    return {**env, **extra}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, as another user (PostgreSQL runs as pgserver under root)
    try:  # a zombie (ended, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def port_is_bound(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


class LocalModeProcess:
    """``serve`` in ``work_dir`` on two free ports. ``background``: started as a shell starts a background job,
    SIGINT ignored (``&`` in a script); it must stop on it all the same."""

    def __init__(
        self,
        work_dir: Path,
        *,
        env: dict[str, str] | None = None,
        background: bool = False,
        cwd: Path = ROOT,
    ) -> None:
        self.work_dir = work_dir
        self.cwd = cwd
        self.api_port, self.aws_port = free_port(), free_port()
        self.env = env if env is not None else clean_environment()
        self.background = background
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> LocalModeProcess:
        command = [sys.executable, "-m", "local_mode", "serve", "--work-dir", str(self.work_dir),
                   "--port", str(self.api_port), "--aws-port", str(self.aws_port)]  # fmt: skip
        ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if self.background else None
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, preexec_fn=ignore_sigint,  # noqa: PLW1509 - a shell's own setting for '&'
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output.append(line)
            if "Trainforge API:" in line:
                threading.Thread(target=self._read_rest, daemon=True).start()
                return self
            if not line and self.process.poll() is not None:
                break
        raise AssertionError("local mode did not start:\n" + "".join(self.output))

    def _read_rest(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def signal(self, signum: int, *, group: bool = False) -> None:
        if group:
            os.killpg(self.pid, signum)
        else:
            os.kill(self.pid, signum)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as late:  # what it was doing: its steps, then its threads' stacks
            os.kill(self.pid, signal.SIGUSR1)
            time.sleep(2)
            raise AssertionError(f"local mode still running after {timeout:.0f} s:\n{self.text()}") from late

    def stop(self) -> None:
        """SIGTERM, and its end awaited (the test's own clean-up)."""
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.wait()
            except AssertionError:
                self.process.kill()
                self.process.wait()

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_for_job(self, job_id: int, statuses: tuple[str, ...], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _, job = self.call("GET", f"/jobs/{job_id}")
            if job.get("status") in statuses or job.get("secondary_status") in statuses:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} never reached {statuses}: {job}\n{self.text()}")

    def training_pids(self, at_least: int = 0, timeout: float = 15.0) -> list[int]:
        """The training processes local mode recorded as running (waiting, up to ``timeout``, for ``at_least``:
        the job's status can say Training a moment before its process's record is written)."""
        folder = self.work_dir / "work" / "processes"
        deadline = time.monotonic() + timeout
        while True:
            found = (
                [json.loads(p.read_text())["pid"] for p in folder.glob("*.json")] if folder.is_dir() else []
            )
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
