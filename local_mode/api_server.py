"""The API handler served over HTTP on localhost: each request becomes the API Gateway (REST, v1) proxy event
Lambda would receive, and the handler's answer becomes the response."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_mode.router import LambdaContext
from trainforge.console_assets import console_asset, is_console_path
from trainforge.local.http_server import BurstServer
from trainforge.settings import LOCAL_ADMIN_PRINCIPAL

LOCAL_PRINCIPAL = LOCAL_ADMIN_PRINCIPAL


def proxy_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    last = {key: values[-1] for key, values in multi_headers.items()}  # API Gateway keeps the last one
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": last,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            # Local mode stands for API Gateway's IAM authorization: the caller is the local developer.
            "identity": {
                "sourceIp": source_ip,
                "userArn": LOCAL_PRINCIPAL,
                "caller": "local",
                "userAgent": last.get("User-Agent"),
            },
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit; the handler enforces its 1 MiB


def gateway_error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"code": code, "message": message}}).encode()


class LocalApiServer:
    """Answers like API Gateway where a client could notice: every method reaches the handler (which answers
    405 on a known path), and a body that is missing, too long or shorter than its ``Content-Length`` is
    answered with a JSON error instead of a hang or a dropped connection."""

    def __init__(self, handler: Callable[[], ModuleType], port: int = 0) -> None:
        """``handler`` gives the API's handler module when a request comes: the port is bound first, before the
        module exists, so that nothing else local mode starts meanwhile takes it."""
        # The handler keeps per-request state (the resolver's context, the caller) as a Lambda container may:
        # connections are served concurrently, invocations one after the other.
        invocation = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # seconds a client may take to send what its Content-Length promised

            def log_message(self, format: str, *args: Any) -> None:
                return

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # TRACE, OPTIONS, or any token: the handler decides
                    return self._serve
                raise AttributeError(name)

            def _read_body(self) -> tuple[bytes | None, tuple[int, bytes] | None]:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    return None, gateway_error(411, "length_required", "send the body with a Content-Length")
                declared = self.headers.get("Content-Length")
                if declared is None:
                    return b"", None
                if not declared.strip().isdigit():
                    return None, gateway_error(
                        400, "bad_content_length", "Content-Length must be a byte count"
                    )
                length = int(declared)
                if length > MAX_BODY_BYTES:
                    return None, gateway_error(413, "body_too_large", "request bodies are limited to 10 MiB")
                try:
                    body = self.rfile.read(length)
                except TimeoutError:
                    body = b""
                if len(body) < length:
                    return None, gateway_error(
                        400, "incomplete_body", f"the body ended after {len(body)} of {length} bytes"
                    )
                return body, None

            def _serve(self) -> None:
                path = urlsplit(self.path).path
                if is_console_path(path) and self.command in ("GET", "HEAD"):
                    asset = console_asset(path)  # API Gateway never sees these: local mode serves the console
                    self._send(asset.status, asset.headers, [], asset.body)
                    return
                body, refusal = self._read_body()
                if refusal is not None or body is None:
                    status, data = refusal or gateway_error(400, "bad_request", "unreadable request")
                    self.close_connection = True
                    self._send(status, {"Content-Type": "application/json"}, [], data)
                    return
                event = proxy_event(
                    self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                )
                with invocation:  # one at a time, as a Lambda container runs them
                    response = handler().handler(
                        event, LambdaContext(function_name="trainforge-api", aws_request_id=str(uuid.uuid4()))
                    )
                payload = response.get("body") or ""
                data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
                multi = [
                    (key, value)
                    for key, values in (response.get("multiValueHeaders") or {}).items()
                    for value in values
                ]
                self._send(int(response.get("statusCode", 500)), response.get("headers") or {}, multi, data)

            def _send(
                self, status: int, headers: dict[str, str], multi: list[tuple[str, str]], data: bytes
            ) -> None:
                self.send_response(status)
                for key, value in [*headers.items(), *multi]:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        self._server = BurstServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> LocalApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that never started, forever
            self._server.shutdown()
        self._server.server_close()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())
