"""A SageMaker endpoint that throttles like the real one: ``CreateTrainingJob`` beyond a set rate answers
``ThrottlingException``; every other call, and every admitted create, is forwarded to the emulator behind it.

Local mode uses it so that submissions meet SageMaker's account-wide limit (about one create a second) before
they meet it in AWS; the benchmarks use it scaled to measure how close the queue drains to the allowed rate.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THROTTLED_TARGET = "SageMaker.CreateTrainingJob"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up: how SageMaker admits creates."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


Refusal = tuple[int, str, str]  # HTTP status, AWS error code, message


class SageMakerFront:
    """An HTTP server on loopback in front of ``upstream`` (moto's server): each request is first shown to
    :meth:`intercept`, which may answer with an AWS error; everything else is forwarded."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                refusal = front.intercept(self.headers.get("X-Amz-Target", ""), body)
                if refusal is not None:
                    status, code, message = refusal
                    payload = json.dumps({"__type": code, "message": message}).encode()
                    self._reply(status, {"Content-Type": "application/x-amz-json-1.1"}, payload)
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                request = urllib.request.Request(  # noqa: S310 - the upstream is the loopback emulator
                    front.upstream + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        self._reply(response.status, dict(response.headers), response.read())
                except urllib.error.HTTPError as error:
                    self._reply(error.code, dict(error.headers), error.read())

            def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        if key.lower() not in (
                            "content-length",
                            "transfer-encoding",
                            "connection",
                            "server",
                            "date",
                        ):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def intercept(self, target: str, body: bytes) -> Refusal | None:
        return None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SageMakerFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ThrottlingSageMakerEndpoint(SageMakerFront):
    """``CreateTrainingJob`` beyond ``rate_per_second`` answers ``ThrottlingException``, as SageMaker does."""

    def __init__(self, upstream: str, rate_per_second: float, burst: float = 1.0) -> None:
        super().__init__(upstream)
        self.bucket = TokenBucket(rate_per_second, burst)
        self.admitted = 0
        self.throttled = 0
        self._count_lock = threading.Lock()

    def intercept(self, target: str, body: bytes) -> Refusal | None:
        if target != THROTTLED_TARGET:
            return None
        admitted = self.bucket.take()
        with self._count_lock:
            if admitted:
                self.admitted += 1
            else:
                self.throttled += 1
        return None if admitted else (400, "ThrottlingException", "Rate exceeded")

    def start(self) -> ThrottlingSageMakerEndpoint:
        super().start()
        return self
