"""The API handler served over HTTP on localhost: each request becomes the API Gateway (REST, v1) proxy event
Lambda would receive, and the handler's answer becomes the response."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_mode.router import LambdaContext

LOCAL_PRINCIPAL = "arn:aws:iam::123456789012:user/local-developer"


def proxy_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
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
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
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
                "userAgent": headers.get("User-Agent"),
            },
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


class LocalApiServer:
    def __init__(self, handler: ModuleType, port: int = 0) -> None:
        api = handler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = proxy_event(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
                response = api.handler(
                    event, LambdaContext(function_name="trainforge-api", aws_request_id=str(uuid.uuid4()))
                )
                payload = response.get("body") or ""
                data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
                self.send_response(int(response.get("statusCode", 500)))
                for key, value in (response.get("headers") or {}).items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                for key, values in (response.get("multiValueHeaders") or {}).items():
                    if key.lower() != "content-length":
                        for value in values:
                            self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def get_json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())
