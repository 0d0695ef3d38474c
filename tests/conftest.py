"""The test rig: real PostgreSQL (DATABASE_URL, else an embedded server from pgserver) and moto's server over
HTTP, reached by boto3 through AWS_ENDPOINT_URL exactly as production code reaches AWS."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from tests.clock import DATABASE_CLOCK, DatabaseClock, rebase_times
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.db import mark_failovers_as_disconnects
from trainforge.local.aws.emulator import LocalAws, environment
from trainforge.local.aws.resources import provision
from trainforge.local.postgres import postgres_server, scratch_database
from trainforge.models.database import Base
from trainforge.schema import upgrade_to_head
from trainforge.settings import Settings

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A complete AWS payload from tests/events, its times moved next to the tests' clock (tests/clock.py)."""
    return rebase_times(json.loads((EVENTS / name).read_text()))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server(os.environ.get("DATABASE_URL")) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A scratch database, its ``now()`` on the tests' clock (tests/clock.py) before anything else connects."""
    with scratch_database(postgres_server_url, "trainforge_test") as url:
        database_clock = DatabaseClock(url)
        database_clock.install()
        request.config.stash[DATABASE_CLOCK] = database_clock
        try:
            yield url
        finally:
            database_clock.close()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_size=2, max_overflow=8)
    mark_failovers_as_disconnects(engine)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
    truncate_all(engine)


@pytest.fixture
def database(database_url: str, db: Session) -> Iterator[NativeDatabase]:
    """The handlers' own connection to the test database (pg8000, autocommit); emptied afterwards like ``db``."""
    native = NativeDatabase(lambda: ConnectionParameters.from_url(database_url))
    yield native
    native.close()


def truncate_all(engine: Engine) -> None:
    """Every table emptied and every id counting from 1 again. DELETE, not TRUNCATE: a test leaves a few rows,
    and TRUNCATE makes new files for every table (50 ms a test against 3 ms, on CI's server with fsync on)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):  # those referring to others first
            connection.execute(table.delete())
        connection.execute(
            text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    server = LocalAws().start()
    with environment(server.environ()):
        yield server
    server.stop()


@pytest.fixture
def aws(local_aws: LocalAws) -> Iterator[LocalAws]:
    """moto's server, emptied after the test."""
    yield local_aws
    local_aws.reset()


@pytest.fixture
def settings(aws: LocalAws, database_url: str) -> Settings:
    """Local-mode settings pointing at the test database; SageMaker itself is moto's (the 'sagemaker' path)."""
    return Settings.from_env(
        {
            **aws.environ(),
            "TRAINFORGE_MODE": "local",
            "DATABASE_URL": database_url,
            "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker",
            "TRAINFORGE_SAGEMAKER_CREATE_RATE": "50",  # moto has no limit; the throttling tests set their own
        }
    )


@pytest.fixture
def aws_resources(settings: Settings) -> Settings:
    """The buckets, repository, role and build project the stacks would deploy, created in moto."""
    provision(settings)
    return settings


@pytest.fixture
def handler_env(aws_resources: Settings, database_url: str, aws: LocalAws) -> Iterator[dict[str, str]]:
    """What a deployed function's environment holds, pointed at the test database and moto's server."""
    from tests.lambda_support import environment

    values = {
        **aws.environ(),
        "DATABASE_URL": database_url,
        "TRAINFORGE_MODE": "local",
        "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker",
        "TRAINFORGE_ALLOW_UNAUTHENTICATED": "false",
        # The tests' default caller (tests.lambda_support.api_request) administers; the teams tests name others.
        "TRAINFORGE_ADMIN_PRINCIPALS": "arn:aws:iam::123456789012:user/ml-engineer",
        "TRAINFORGE_SAGEMAKER_CREATE_RATE": "50",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
        "POWERTOOLS_DEV": "false",
    }
    with environment(values):
        yield values


@pytest.fixture
def scratch_database_url(
    postgres_server_url: str,
    handler_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    """A database of the test's own, migrated to head, that the handlers loaded after this use (DATABASE_URL): for
    tests that drop its schema or run other code on it."""
    from trainforge.local.postgres import scratch_database
    from trainforge.schema import upgrade_database

    with scratch_database(postgres_server_url, f"trainforge_{request.module.__name__.rsplit('.', 1)[-1]}",
                          drop_later=True) as url:  # fmt: skip
        upgrade_database(url)
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def dead_letter_reasons(handler_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """A dead-letter queue the handlers loaded after this send poison to; called, the reasons it holds."""
    import boto3

    sqs = boto3.client("sqs", region_name=handler_env["AWS_REGION"])
    queue = sqs.create_queue(QueueName="handlers-dead-letters")["QueueUrl"]
    monkeypatch.setenv("TRAINFORGE_DEAD_LETTER_QUEUE_URL", queue)

    def reasons() -> list[str]:
        messages = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], MaxNumberOfMessages=10)
        return [m["MessageAttributes"]["reason"]["StringValue"] for m in messages.get("Messages", [])]

    return reasons


@pytest.fixture
def handlers(handler_env: dict[str, str], db: Session) -> Iterator[Any]:
    """``handlers("api")`` imports that handler as a cold start would; engines are disposed afterwards."""
    from tests.lambda_support import load_handler

    loaded: list[Any] = []

    def load(name: str) -> Any:
        module = load_handler(name)
        loaded.append(module)
        return module

    yield load
    gc.unfreeze()  # handlers freeze what their init made (for Lambda's sake); the test process reclaims it
    for module in loaded:
        runtime = getattr(module, "RUNTIME", None)
        if runtime is not None:
            runtime.close()


OPENAPI_DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def undocumented_statuses(observed: set[tuple[str, str, int]], document: dict[str, Any]) -> list[str]:
    """Observed (method, path, status) that the document does not list for that operation. Requests to paths
    or methods the document does not have (answered 404 or 405) are not operations, so they are not checked."""
    import re

    operations = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "/*$"), item[method])
        for path, item in document["paths"].items()
        for method in item
    ]
    found = []
    for method, path, status in sorted(observed):
        for op_method, pattern, operation in operations:
            if op_method == method and pattern.match(path):
                if str(status) not in operation["responses"]:
                    found.append(
                        f"{method} {path} answered {status}, not documented for {operation['operationId']}"
                    )
                break
    return found


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker's observed statuses join the controller's, which checks them all at the end."""
    from tests.lambda_support import OBSERVED_API_STATUSES

    for method, path, status in getattr(node, "workeroutput", {}).get("observed_api_statuses", []):
        OBSERVED_API_STATUSES.add((method, path, int(status)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.lambda_support import OBSERVED_API_STATUSES

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller checks
        workeroutput["observed_api_statuses"] = sorted(OBSERVED_API_STATUSES)
        return
    if not OBSERVED_API_STATUSES or not OPENAPI_DOCUMENT.exists():
        return
    found = undocumented_statuses(OBSERVED_API_STATUSES, json.loads(OPENAPI_DOCUMENT.read_text()))
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "\nStatus codes the tests saw that docs/openapi.json does not document:", red=True
            )
            for line in found:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
