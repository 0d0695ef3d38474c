"""What a process builds once and reuses: settings, the database engine, the services.

Handlers create one :class:`Runtime` at module scope; the engine and clients are made on first use, so a cold
start pays only for what the first request needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from trainforge.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from trainforge.services.sagemaker_training_service import (
        SageMakerContainerBuilder,
        SageMakerTrainingService,
    )

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()

    @cached_property
    def engine(self) -> Engine:
        from trainforge.db import create_database_engine

        # One connection per Lambda container: concurrency x 1 bounds the database's connections.
        return create_database_engine(self.settings, pool_size=1 if self.settings.mode == "aws" else 4)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from trainforge.db import session_factory

        return session_factory(self.engine)

    @cached_property
    def training(self) -> SageMakerTrainingService:
        from trainforge.services.sagemaker_training_service import SageMakerTrainingService

        return SageMakerTrainingService(self.settings, sagemaker_client=self.sagemaker_client())

    def sagemaker_client(self) -> object | None:
        """SageMaker itself, or the local runner when jobs run on this machine."""
        if self.settings.training_environment == "local":
            from trainforge.local.runner import local_sagemaker

            return local_sagemaker(self.settings)
        return None

    def builder(self) -> SageMakerContainerBuilder:
        """CodeBuild's builder, or local mode's, which validates and records without Docker."""
        if self.settings.training_environment == "local":
            from trainforge.local.builds import LocalContainerBuilder

            return LocalContainerBuilder(self.settings)
        from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder

        return SageMakerContainerBuilder(self.settings)

    def transaction(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction, once more on a fresh connection after a failover."""
        from trainforge.db import run_in_transaction

        return run_in_transaction(self.sessions, work)
