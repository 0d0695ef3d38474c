"""Schema migrations on deploy: a custom resource whose handler runs ``alembic upgrade head``. A change to the
migrations changes the resource's properties, so the next deploy runs them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import CustomResource
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

MIGRATIONS = Path(__file__).resolve().parents[2] / "layers" / "trainforge" / "trainforge" / "migrations"


def migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class TrainforgeSchemaMigration(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=function,
            log_group=logs.LogGroup(self, "ProviderLogs", retention=logs.RetentionDays.ONE_MONTH),
        )
        self.resource = CustomResource(
            self,
            "Schema",
            service_token=self.provider.service_token,
            properties={"MigrationsFingerprint": migrations_fingerprint()},
        )
