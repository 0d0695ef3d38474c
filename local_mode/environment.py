"""Start everything local mode needs, in order, and stop it all again, in the reverse order.

Start: the work folder is taken (one local mode per folder), what a killed run left is ended, then the AWS emulator
(its saved state loaded), PostgreSQL (migrated), the resources the stacks would deploy, the handlers (imported once
the environment is set, as a cold start), the event routing and the HTTP API; local SageMaker then ends what the
last run left running and the saved state is held against the database (:mod:`local_mode.state_check`).

Stop: the API stops taking requests, local SageMaker stops its jobs (their last events are delivered to the
database before the routing stops), the emulator saves its state and frees its port, and PostgreSQL is stopped.
Nothing outlives it: no server, no training process, no port, no ``postmaster.pid``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from local_mode.api_server import LocalApiServer
from local_mode.router import LocalRouter
from local_mode.state_check import check_saved_state
from trainforge.aws import client, reset_clients
from trainforge.local.aws.emulator import LocalAws
from trainforge.local.aws.resources import provision
from trainforge.local.aws.standins import AccountStandIns
from trainforge.local.discovery import read_state, state_file
from trainforge.local.postgres import EmbeddedPostgres
from trainforge.local.sagemaker.runner import forget_local_sagemaker, local_sagemaker
from trainforge.schema import upgrade_database
from trainforge.settings import Settings, parse_quotas

HANDLERS = ("api", "submissions", "training_state", "build_state", "notifications", "reconcile", "migrate")
DRAIN_SECONDS = 20.0  # the stopped jobs' last events on their way to the database
SLOW_STOP_SECONDS = 5.0
RESET_HINT = "`make reset` wipes local state and starts afresh"


class LocalModeError(Exception):
    """Local mode cannot start: the message says why and what to do."""


def port_is_free(port: int) -> bool:
    """Nothing listens there (connections of an earlier run in TIME_WAIT do not count, as for the servers)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalMode:
    """``keep_state``: the emulator's services are saved in ``work_dir/aws`` and loaded at the next start
    (``make local``); without it they start empty (the demo, which starts afresh each time)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        database_url: str | None = None,
        api_port: int = 0,
        aws_port: int = 0,
        keep_state: bool = False,
        log: Callable[..., None] = print,
    ) -> None:
        self.work_dir = work_dir.resolve()
        self.database_url = database_url
        self.api_port = api_port
        self.aws_port = aws_port
        self.keep_state = keep_state
        self.log = log
        self.aws: LocalAws | None = None
        self.stand_ins: AccountStandIns | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.router: LocalRouter | None = None
        self.api: LocalApiServer | None = None
        self.handlers: dict[str, ModuleType] = {}
        self.settings: Settings | None = None
        self.notes: list[str] = []  # what the start found and did about an earlier run
        self._lock: IO[str] | None = None

    # -- start ----------------------------------------------------------------------------------------------

    def start(self) -> LocalMode:
        started = time.monotonic()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._take_work_dir()
        try:
            self._start(started)
        except BaseException:
            self.stop()
            raise
        return self

    def _take_work_dir(self) -> None:
        """One local mode per folder: an exclusive lock the kernel lets go of however the process ends."""
        lock = open(self.work_dir / "local-mode.lock", "a+")  # noqa: SIM115 - held for the life of local mode
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            running = read_state(self.work_dir)
            where = f" (pid {running['pid']}, API at {running['api_url']})" if running else ""
            raise LocalModeError(
                f"local mode is already running in {self.work_dir}{where}: use it, or `make stop` first"
            ) from None
        self._lock = lock
        earlier = read_state(self.work_dir)
        if earlier is not None:
            self.notes.append(
                f"the last run (pid {earlier['pid']}) ended without stopping: recovering from it"
            )

    def _start(self, started: float) -> None:
        for port, what, option in (
            (self.api_port, "API", "--port"),
            (self.aws_port, "AWS emulator", "--aws-port"),
        ):
            if port and not port_is_free(port):
                raise LocalModeError(
                    f"port {port} for the {what} is taken by another program: choose another with {option}"
                )
        # The API's port, bound now: the handlers' events link to their job at its URL, and nothing local mode
        # starts before the API (the emulator, the stand-ins) can take a port left free until then.
        self.api = LocalApiServer(lambda: self.handlers["api"], self.api_port)
        self.api_port = self.api.port
        self.aws = LocalAws(
            self.aws_port or None, state_dir=self.work_dir / "aws" if self.keep_state else None
        )
        self.aws.start()
        if self.aws.loaded:
            self.log(
                "AWS emulator: state of", ", ".join(self.aws.loaded), "loaded from", self.work_dir / "aws"
            )
        for problem in self.aws.problems:
            self.notes.append(f"the emulator's saved state was not loaded: {problem} ({RESET_HINT})")
        # Service Quotas and the Price List, which moto does not serve; the quotas are local SageMaker's own.
        quotas = parse_quotas(os.environ, "TRAINFORGE_LOCAL_INSTANCE_QUOTAS")
        self.stand_ins = AccountStandIns(quotas).start()
        database_url = self.database_url or os.environ.get("DATABASE_URL")
        if not database_url:
            self.postgres = EmbeddedPostgres(self.work_dir / "postgres")
            database_url = self.postgres.start()
            self.log("PostgreSQL: embedded server (pgserver) in", self.postgres.data_dir)
        else:
            self.log("PostgreSQL:", database_url.split("@")[-1])
        os.environ.update(
            {
                **self.aws.environ(),
                "TRAINFORGE_PUBLIC_API_URL": f"http://127.0.0.1:{self.api_port}",
                **self.stand_ins.environ(),
                "DATABASE_URL": database_url,
                "TRAINFORGE_MODE": "local",
                "TRAINFORGE_TRAINING_ENVIRONMENT": "local",
                "TRAINFORGE_LOCAL_WORK_DIR": str(self.work_dir / "work"),
                "TRAINFORGE_RECONCILE_AFTER_MINUTES": os.environ.get(
                    "TRAINFORGE_RECONCILE_AFTER_MINUTES", "5"
                ),
                "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        reset_clients()
        self.settings = Settings.from_env()
        revision = upgrade_database(database_url)
        self.log("schema at revision", revision)
        provision(self.settings)
        for name in HANDLERS:
            self.handlers[name] = importlib.import_module(f"lambdas.{name}.handler")
        self.router = LocalRouter(self.settings, self.handlers)
        self.router.provision()
        self.router.start()
        self.router.schedule(float(os.environ.get("TRAINFORGE_LOCAL_SCHEDULE_SECONDS", "60")))
        self.api.start()
        self._recover()
        write_state(
            self.work_dir, {"pid": os.getpid(), "api_url": self.api.url, "aws_url": self.aws.endpoint_url}
        )
        for note in self.notes:
            self.log("note:", note)
        self.log(f"local mode ready in {time.monotonic() - started:.1f}s: AWS emulator at {self.aws.endpoint_url}, "
                 f"API at {self.api.url}")  # fmt: skip

    def _recover(self) -> None:
        """What the last run left running is ended; what the database remembers is held against what was kept."""
        assert self.settings is not None
        sagemaker = local_sagemaker(self.settings)
        self.notes += [f"{problem}: not loaded ({RESET_HINT})" for problem in sagemaker.load_problems]
        self.notes += sagemaker.recover()
        runtime = self.handlers["api"].RUNTIME
        found = check_saved_state(
            runtime.database,
            sagemaker,
            client("s3", self.settings.region),
            client("logs", self.settings.region),
        )
        lines = found.lines()
        if lines:
            self.notes += [f"local state disagrees with the database: {line}" for line in lines]
            self.notes.append(f"what was lost cannot be brought back: {RESET_HINT}")

    # -- stop -----------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Everything, in the reverse order of the start; each step runs even when one before it failed."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("the API", lambda: self.api.stop() if self.api else None),
            ("local SageMaker's jobs", self._stop_jobs),
            ("the event routing", self._stop_routing),
            ("the handlers' connections", self._close_handlers),
            ("the AWS emulator", lambda: self.aws.stop() if self.aws else None),
            ("the account stand-ins", lambda: self.stand_ins.stop() if self.stand_ins else None),
            ("PostgreSQL", lambda: self.postgres.stop() if self.postgres else None),
        ]
        for what, step in steps:
            started = time.monotonic()
            try:
                step()
            except Exception as exc:  # say it, and go on: what follows must still stop
                self.log(f"stopping {what} failed: {type(exc).__name__}: {exc}")
            took = time.monotonic() - started
            if took > SLOW_STOP_SECONDS:  # where a slow stop spends its time, said as it goes
                self.log(f"stopping {what} took {took:.1f} s")
        self.api = self.router = self.aws = self.stand_ins = self.postgres = None
        self.handlers = {}
        if self._lock is not None:
            with contextlib.suppress(FileNotFoundError):
                state_file(self.work_dir).unlink()
            self._lock.close()
            self._lock = None

    def _stop_jobs(self) -> None:
        if self.settings is None or not self.handlers:
            return
        local_sagemaker(self.settings).shutdown()
        forget_local_sagemaker(self.settings)

    def _stop_routing(self) -> None:
        if self.router is None:
            return
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and not self.router.idle():
            time.sleep(0.1)
        self.router.stop()

    def _close_handlers(self) -> None:
        for module in self.handlers.values():
            runtime = getattr(module, "RUNTIME", None)
            if runtime is not None:
                runtime.close()

    def __enter__(self) -> LocalMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_state(work_dir: Path, values: dict[str, Any]) -> None:
    path = state_file(work_dir)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(values))
    partial.replace(path)
