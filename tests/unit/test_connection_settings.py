"""Where and how the handlers connect: URLs and secrets read without SQLAlchemy, TLS that verifies against
Amazon's roots only, and SnapStart's hooks that drop the connection and reseed randomness after a restore."""

from __future__ import annotations

import hashlib
import json
import random
import re
import ssl
from pathlib import Path
from typing import Any

import certifi
import pytest

from trainforge.connection import AMAZON_ROOT_CAS, ConnectionParameters, parameters_for, tls_context
from trainforge.runtime import Runtime
from trainforge.settings import Settings

# Amazon Trust Services' published SHA-256 fingerprints (https://www.amazontrust.com/repository/).
AMAZON_FINGERPRINTS = {
    "Amazon Root CA 1": "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
    "Amazon Root CA 2": "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
    "Amazon Root CA 3": "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
    "Amazon Root CA 4": "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
}
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


def fingerprints(text: str) -> set[str]:
    return {hashlib.sha256(ssl.PEM_cert_to_DER_cert(block)).hexdigest() for block in PEM.findall(text)}


def test_the_bundled_roots_are_amazons_and_match_the_mozilla_store() -> None:
    bundled = fingerprints(AMAZON_ROOT_CAS.read_text())
    assert set(AMAZON_FINGERPRINTS.values()) <= bundled
    assert len(bundled) == 5, "Amazon Root CA 1-4 and the Starfield root that cross-signs them"
    assert bundled <= fingerprints(Path(certifi.where()).read_text()), (
        "every bundled root is in the Mozilla store"
    )


def test_tls_verifies_the_server_against_amazons_roots_only() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    subjects = {
        dict(part[0] for part in cert["subject"]).get("commonName") for cert in context.get_ca_certs()
    }
    assert subjects == {*AMAZON_FINGERPRINTS, "Starfield Services Root Certificate Authority - G2"}


def test_urls_are_read_with_sockets_passwords_and_defaults() -> None:
    socket_url = "postgresql+pg8000://postgres@/trainforge?unix_sock=/tmp/pg/.s.PGSQL.5432"
    parsed = ConnectionParameters.from_url(socket_url, timeout=3)
    assert (parsed.user, parsed.database, parsed.unix_sock, parsed.timeout) == (
        "postgres",
        "trainforge",
        "/tmp/pg/.s.PGSQL.5432",
        3,
    )
    tcp = ConnectionParameters.from_url("postgresql://app:p%40ss%2Fw@db.example:6543/")
    assert (tcp.user, tcp.password, tcp.host, tcp.port, tcp.database) == (
        "app",
        "p@ss/w",
        "db.example",
        6543,
        "postgres",
    )
    with pytest.raises(ValueError, match="postgresql"):
        ConnectionParameters.from_url("mysql://x@y/z")


class FakeSecrets:
    def __init__(self) -> None:
        self.password = "first"
        self.calls = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.calls += 1
        return {
            "SecretString": json.dumps(
                {
                    "username": "trainforge",
                    "password": self.password,
                    "host": "cluster.internal",
                    "port": 5432,
                    "dbname": "trainforge",
                }
            )
        }


def aws_settings(**extra: str) -> Settings:
    return Settings.from_env(
        {
            "TRAINFORGE_MODE": "aws",
            "AWS_REGION": "us-east-1",
            "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db",
            "DATABASE_HOST": "proxy.internal",
            "TRAINFORGE_DATASETS_BUCKET": "d",
            "TRAINFORGE_ARTIFACTS_BUCKET": "a",
            "TRAINFORGE_EXECUTION_ROLE_ARN": "arn:aws:iam::111122223333:role/exec",
            "TRAINFORGE_ECR_REPOSITORY_URI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/training",
            "TRAINFORGE_CODEBUILD_PROJECT": "builds",
            "TRAINFORGE_ADMIN_PRINCIPALS": "arn:aws:iam::111122223333:role/trainforge-admins",
            **extra,
        }
    )


def test_in_aws_the_secret_is_read_at_each_connect_and_tls_is_always_on() -> None:
    secrets = FakeSecrets()
    first = parameters_for(aws_settings(), secrets)
    assert (first.host, first.password, first.user) == ("proxy.internal", "first", "trainforge")
    assert first.tls is not None and first.tls.verify_mode == ssl.CERT_REQUIRED
    secrets.password = "rotated"
    assert parameters_for(aws_settings(), secrets).password == "rotated"
    assert secrets.calls == 2


def test_snapstart_restore_drops_the_connection_and_reseeds_randomness() -> None:
    import snapshot_restore_py

    runtime = Runtime(aws_settings(), clients=("sagemaker",))
    registered = [entry[0] for entry in snapshot_restore_py._after_restore_registry]
    assert runtime.after_restore in registered
    assert runtime.before_snapshot in [entry[0] for entry in snapshot_restore_py._before_snapshot_registry]

    class Connection:
        closed = False

        def close(self) -> None:
            self.closed = True

    connection = Connection()
    runtime.database._connection = connection  # type: ignore[assignment]
    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)  # every container restored from one snapshot starts with the same generator state
    runtime.after_restore()
    assert connection.closed and runtime.database._connection is None
    assert random.random() != snapshot_draw, "restored containers must not share their backoff jitter"


def test_before_the_snapshot_the_handlers_clients_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainforge import aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "snapshot")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "snapshot")
    aws.reset_clients()
    try:
        Runtime(aws_settings(), clients=("sagemaker", "s3")).before_snapshot()
        assert {"sagemaker", "s3", "secretsmanager"} <= {service for service, _ in aws._clients}
    finally:
        aws.reset_clients()
