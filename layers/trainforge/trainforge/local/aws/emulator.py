"""moto's server over HTTP on a loopback port, as the tests, the benchmarks and local mode reach AWS: boto3
finds it through ``AWS_ENDPOINT_URL``. With a state folder it keeps its services across restarts
(:mod:`trainforge.local.aws.state`)."""

from __future__ import annotations

import logging
import os
import re
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainforge.local.training.hosts import free_port


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """These variables for the life of the block, then the previous ones; cached AWS clients are dropped both
    ways, since they captured the old endpoint."""
    # moto takes about a second to import: only starting the emulator needs it
    from trainforge.aws import reset_clients

    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_clients()
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_clients()


# The service a request is for, from its SigV4 credential scope (header or presigned query); the scope's name
# differs from moto's for a few services.
_SCOPE = re.compile(r"Credential=[^/&]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_SCOPE_QUERY = re.compile(
    r"X-Amz-Credential=[^&]*?(?:/|%2F)\d{8}(?:/|%2F)[^/%]+(?:/|%2F)([^/%&]+)(?:/|%2F)aws4_request"
)
_MOTO_NAMES = {"monitoring": "cloudwatch", "execute-api": "apigateway"}
SAVE_EVERY_SECONDS = 2.0


class LocalAws:
    """moto's server on a loopback port; ``environ()`` is what boto3 needs to reach it.

    With ``state_dir``, what the services hold is loaded from there before the server answers and saved there
    (:mod:`trainforge.local.aws.state`): each service a request changed, every two seconds, and all of them
    when the server stops. A port that is taken is an error at start, never a hang."""

    def __init__(self, port: int | None = None, *, state_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.state_dir = state_dir
        self.loaded: list[str] = []
        self.problems: list[str] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._stopping = threading.Event()
        self._saver: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalAws:
        # moto takes about a second to import: only starting the emulator needs it
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        # moto takes about a second to import: only starting the emulator needs it
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns everything else
        if self.state_dir is not None:
            from trainforge.local.aws.state import load_services

            self.loaded, self.problems = load_services(self.state_dir)
        app = DomainDispatcherApplication(create_backend_app)
        served = self._noting_changes(app) if self.state_dir is not None else app
        # In this thread, so a taken port raises here (moto's ThreadedMotoServer would wait forever).
        self._server = make_server(
            "127.0.0.1", self.port, served, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        if self.state_dir is not None:
            self._saver = threading.Thread(target=self._save_changes, name="aws-emulator-saver", daemon=True)
            self._saver.start()
        return self

    def _noting_changes(self, app: Any) -> Any:
        def served(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS"):
                scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _SCOPE_QUERY.search(
                    environ.get("QUERY_STRING", "")
                )
                service = _MOTO_NAMES.get(scope.group(1), scope.group(1)) if scope else "*"
                with self._changed_lock:
                    self._changed.add(service)
            return app(environ, start_response)

        return served

    def _save_changes(self) -> None:
        while not self._stopping.wait(SAVE_EVERY_SECONDS):
            self.save(only_changed=True)

    def save(self, *, only_changed: bool = False) -> None:
        """Write the services' state (``only_changed``: those requests changed since the last save)."""
        if self.state_dir is None:
            return
        # moto takes about a second to import: only starting the emulator needs it
        from trainforge.local.aws.state import save_services

        with self._changed_lock:
            changed, self._changed = self._changed, set()
        if only_changed and not changed:
            return
        try:
            save_services(self.state_dir, None if "*" in changed or not only_changed else changed)
        except Exception:
            with self._changed_lock:  # kept for the next round
                self._changed |= changed
            if not only_changed:
                raise

    def stop(self) -> None:
        """Stop answering, free the port, then save everything once more."""
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(timeout=30)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save()

    def environ(self, region: str = "us-east-1") -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass
