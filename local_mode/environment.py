"""Start everything local mode needs, in order: the AWS emulator, PostgreSQL (migrated), the resources the
stacks would deploy, the handlers (imported once the environment is set, as a cold start), the event routing and
the HTTP API."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from sqlalchemy import create_engine

from local_mode.api_server import LocalApiServer
from local_mode.router import LocalRouter
from trainforge.aws import reset_clients
from trainforge.db import mark_failovers_as_disconnects
from trainforge.local.account_standins import AccountStandIns
from trainforge.local.infrastructure import LocalAws, embedded_postgres_url
from trainforge.local.resources import provision
from trainforge.schema import upgrade_to_head
from trainforge.settings import Settings, parse_quotas

HANDLERS = ("api", "dataset_uploaded", "training_state", "build_state", "reconcile", "migrate")


class LocalMode:
    def __init__(
        self,
        work_dir: Path,
        *,
        database_url: str | None = None,
        api_port: int = 0,
        log: Callable[..., None] = print,
    ) -> None:
        self.work_dir = work_dir.resolve()
        self.database_url = database_url
        self.api_port = api_port
        self.log = log
        self.aws: LocalAws | None = None
        self.stand_ins: AccountStandIns | None = None
        self.router: LocalRouter | None = None
        self.api: LocalApiServer | None = None
        self.handlers: dict[str, ModuleType] = {}
        self.settings: Settings | None = None

    def start(self) -> LocalMode:
        started = time.monotonic()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.aws = LocalAws().start()
        # Service Quotas and the Price List, which moto does not serve; the quotas are local SageMaker's own.
        quotas = parse_quotas(os.environ, "TRAINFORGE_LOCAL_INSTANCE_QUOTAS")
        self.stand_ins = AccountStandIns(quotas).start()
        database_url = self.database_url or os.environ.get("DATABASE_URL")
        if not database_url:
            database_url = embedded_postgres_url(self.work_dir / "postgres")
            self.log("PostgreSQL: embedded server (pgserver) in", self.work_dir / "postgres")
        else:
            self.log("PostgreSQL:", database_url.split("@")[-1])
        os.environ.update(
            {
                **self.aws.environ(),
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
        engine = create_engine(database_url)
        mark_failovers_as_disconnects(engine)
        revision = upgrade_to_head(engine)
        engine.dispose()
        self.log("schema at revision", revision)
        provision(self.settings)
        for name in HANDLERS:
            self.handlers[name] = importlib.import_module(f"lambdas.{name}.handler")
        self.router = LocalRouter(self.settings, self.handlers)
        self.router.provision()
        self.router.start()
        self.router.schedule(float(os.environ.get("TRAINFORGE_LOCAL_SCHEDULE_SECONDS", "60")))
        self.api = LocalApiServer(self.handlers["api"], self.api_port).start()
        self.log(f"local mode ready in {time.monotonic() - started:.1f}s: AWS emulator at {self.aws.endpoint_url}, "
                 f"API at {self.api.url}")  # fmt: skip
        return self

    def stop(self) -> None:
        if self.api:
            self.api.stop()
        if self.router:
            self.router.stop()
        for module in self.handlers.values():
            runtime = getattr(module, "RUNTIME", None)
            if runtime is not None:
                runtime.close()
        if self.aws:
            self.aws.stop()
        if self.stand_ins:
            self.stand_ins.stop()

    def __enter__(self) -> LocalMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
