"""What a process builds once and reuses: settings, the database connection, the services.

Handlers create one :class:`Runtime` at module scope; the connection and clients are made on first use, so a
cold start pays only for what the first request needs. The handlers' statements run on :attr:`database` (one
pg8000 connection, autocommit, no SQLAlchemy); :attr:`engine` serves the migrations.
"""

from __future__ import annotations

import gc
import logging
import random
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from trainforge.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from trainforge.connection import Database, NativeDatabase
    from trainforge.services.sagemaker_training_service import (
        SageMakerContainerBuilder,
        SageMakerTrainingService,
    )

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings | None = None, *, clients: tuple[str, ...] = ()) -> None:
        """``clients``: the AWS services this handler calls, made before a SnapStart snapshot (free there)."""
        self.settings = settings or Settings.from_env()
        self.clients = clients
        register_snapstart_hooks(self)

    def before_snapshot(self) -> None:
        """SnapStart: what init builds is in the snapshot, so build the clients and load the database driver
        now (no network is used)."""
        # what the snapshot should hold, loaded only before one is taken
        from trainforge.aws import client
        from trainforge.connection import driver

        driver()
        secrets = ("secretsmanager",) if self.settings.database_secret_arn else ()
        for service in (*self.clients, *secrets):
            client(service, self.settings.region)

    def after_restore(self) -> None:
        """SnapStart: many containers resume from one snapshot. Sockets in it are dead and shared, so the
        database connection is dropped (the next statement reconnects, reading the secret afresh: a rotation
        is picked up), and randomness is reseeded so the containers' backoff jitter differs."""
        self.close()
        random.seed()

    @cached_property
    def database(self) -> NativeDatabase:
        # made on first use: a cold start pays only for what its first request needs
        from trainforge.connection import NativeDatabase, parameters_for

        return NativeDatabase(lambda: parameters_for(self.settings))

    @cached_property
    def engine(self) -> Engine:
        # made on first use: a cold start pays only for what its first request needs
        from trainforge.db import create_database_engine

        # One connection per Lambda container: concurrency x 1 bounds the database's connections.
        return create_database_engine(self.settings, pool_size=1 if self.settings.mode == "aws" else 4)

    @cached_property
    def training(self) -> SageMakerTrainingService:
        # made on first use: a cold start pays only for what its first request needs
        from trainforge.services.sagemaker_training_service import SageMakerTrainingService

        return SageMakerTrainingService(self.settings, sagemaker_client=self.sagemaker_client())

    def sagemaker_client(self) -> object | None:
        """SageMaker itself, or the local runner when jobs run on this machine."""
        if self.settings.training_environment == "local":
            # local mode only: never loaded in AWS
            from trainforge.local.sagemaker.runner import local_sagemaker

            return local_sagemaker(self.settings)
        return None

    def local_image(self) -> Callable[[str], bool] | None:
        """Local mode: whether a job can run an image (its builds record images locally, not in ECR)."""
        if self.settings.training_environment == "local":
            # local mode only: never loaded in AWS
            from trainforge.local.sagemaker.runner import local_sagemaker

            return local_sagemaker(self.settings).can_run
        return None

    def builder(self) -> SageMakerContainerBuilder:
        """CodeBuild's builder, or local mode's, which validates and records without Docker."""
        if self.settings.training_environment == "local":
            # local mode only: never loaded in AWS
            from trainforge.local.aws.codebuild import LocalContainerBuilder

            return LocalContainerBuilder(self.settings)
        # made on first use: a cold start pays only for what its first request needs
        from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder

        return SageMakerContainerBuilder(self.settings)

    def transaction(self, work: Callable[[Database], T]) -> T:
        """Run ``work`` on the process's connection (each statement atomic), once more on a fresh connection
        after a failover."""
        return self.database.run(work)

    def publish_events(self) -> int:
        """Trainforge's own events (the outbox's rows this work wrote) to EventBridge, right after the work
        committed; never fails the caller: what is not published now, the schedule publishes."""
        # the relay and its client are loaded by the first invocation that publishes, not at init
        from trainforge.aws import client
        from trainforge.notifications.relay import publish_pending

        try:
            return publish_pending(
                self.database,
                client("events", self.settings.region),
                self.settings.event_bus_name,
                self.settings.public_api_url,
            )
        except Exception:
            logging.getLogger("trainforge").warning(
                "events not published now: the schedule will", exc_info=True
            )
            return 0

    def close(self) -> None:
        """Drop the connection and the engine's pool (tests, local mode, SnapStart's after-restore hook)."""
        if "database" in self.__dict__:
            self.database.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def register_snapstart_hooks(runtime: Runtime) -> None:
    """Register the runtime's hooks where Lambda offers them (Python 3.12+); a no-op anywhere else."""
    try:
        # only Lambda's Python 3.12+ runtimes have it
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return
    register_before_snapshot(runtime.before_snapshot)
    register_after_restore(runtime.after_restore)


def end_of_init() -> None:
    """Called last by each handler module, which pauses the cyclic collector first: everything init builds (the
    modules, clients, the resolver) lives as long as the container. Collecting while it loads only walks those
    objects again and again (a full pass costs tens of ms after pydantic and botocore load); frozen, later
    collections skip them, and a SnapStart snapshot holds them frozen too."""
    gc.freeze()
    gc.enable()
