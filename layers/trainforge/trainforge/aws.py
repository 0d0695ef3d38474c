"""AWS clients: one per service and region, created on first use and reused for the life of the process, all
from one boto3 Session (each Session loads its own copy of the endpoint data and credential chain).

boto3 finds the endpoint itself (``AWS_ENDPOINT_URL`` reaches an emulator), so nothing here knows about tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

from trainforge.errors import AwsRefusalError

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
    user_agent_appid="trainforge",
)
# SageMaker's create limit is waited out by Trainforge's own pacing and backoff: botocore retrying throttles on
# top of it (with its own growing sleeps) would only stretch a burst.
_SERVICE_CONFIG = {"sagemaker": _CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1}))}
_clients: dict[tuple[str, str | None], Any] = {}
_session: boto3.session.Session | None = None
# The parsed service models: kept when the Session is reset (the environment never changes them).
_loader: Loader | None = None
_lock = threading.Lock()  # botocore sessions are not safe to create clients from concurrently


def client(service: str, region: str | None = None) -> Any:
    """A cached boto3 client for ``service``."""
    key = (service, region)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                global _session  # noqa: PLW0603 - the process's one Session, made on first use
                if _session is None:
                    _session = _new_session()
                config = _SERVICE_CONFIG.get(service, _CONFIG)
                found = _session.client(service, region_name=region, config=config)
                _clients[key] = found
    return found


def _new_session() -> boto3.session.Session:
    global _loader  # noqa: PLW0603
    core = botocore.session.get_session()
    if _loader is None:
        _loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _loader)
    session = boto3.session.Session(botocore_session=core)
    paths = _loader.search_paths  # boto3 appends its own data folder to the loader each time
    paths[:] = list(dict.fromkeys(paths))
    return session


def reset_clients() -> None:
    """Forget cached clients and the Session (after the endpoint or credentials in the environment changed)."""
    global _session  # noqa: PLW0603
    with _lock:
        _clients.clear()
        _session = None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


@contextmanager
def refused_as(service: str) -> Iterator[None]:
    """An AWS service refusing Trainforge's own call (its permissions, a limit, a throttle) becomes an
    :class:`AwsRefusalError` naming the service and its code; anything else passes through."""
    try:
        yield
    except Exception as exc:
        if not error_code(exc):
            raise
        raise AwsRefusalError(f"{service} refused: {error_code(exc)}: {error_message(exc)}") from exc
