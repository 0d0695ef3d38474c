"""`trainforge console`: the web console on localhost, in front of a deployed API that only takes SigV4-signed
requests. The console's files are served here; its API calls are forwarded, signed with the user's own AWS
credentials, so the API sees the user's principal and applies the same team scoping as to the CLI.

The proxy signs for whoever reaches it, so it answers only what the console itself sends: requests for its own
host name (a DNS-rebinding page names another), from its own origin, carrying ``X-Trainforge-Console`` (a page
of another origin cannot add that header without a CORS preflight, which is never approved)."""

from __future__ import annotations

import json
import signal
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import click

from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.context import Context, pass_context
from trainforge.console_assets import PREFIX, console_asset, is_console_path
from trainforge.local.http_server import BurstServer

CONSOLE_HEADER = "X-Trainforge-Console"
MAX_BODY_BYTES = 1 << 20  # the API's own limit
FORWARDED_METHODS = ("GET", "POST")  # all the console calls


class ConsoleProxy:
    def __init__(self, client: TrainforgeClient, port: int = 0) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                proxy.serve(self)

            do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

        self.client = client
        self._server = BurstServer(("127.0.0.1", port), Handler)  # a page opens several calls at once
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}/"

    def start(self) -> ConsoleProxy:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """In the calling (main) thread, so that a signal's handler runs within 0.2 s; closed when it ends."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        if request.headers.get("Host") not in hosts:
            return _send(
                request, 403, *_error("wrong_host", "the console answers only on 127.0.0.1 and localhost")
            )
        path = urlsplit(request.path).path
        if request.command in ("GET", "HEAD") and (is_console_path(path) or path == "/"):
            asset = console_asset(path if path != "/" else PREFIX)  # the root redirects to the console
            return _send(request, asset.status, asset.headers, asset.body)
        origin = request.headers.get("Origin")
        if request.headers.get(CONSOLE_HEADER) != "1" or (
            origin and origin not in {f"http://{h}" for h in hosts}
        ):
            return _send(request, 403, *_error("not_the_console", f"only the console's own calls ({CONSOLE_HEADER}) are signed and forwarded"))  # fmt: skip
        if request.command not in FORWARDED_METHODS:
            return _send(request, 405, *_error("method_not_allowed", "the console forwards GET and POST"))
        length = request.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return _send(request, 413, *_error("body_too_large", "request bodies are limited to 1 MiB"))
        body = request.rfile.read(int(length)) if int(length) else None
        try:
            status, content_type, data = self.client.forward(request.command, request.path, body)
        except ApiError as error:
            return _send(request, 502, *_error(error.code, error.message))
        _send(request, status, {"Content-Type": content_type, "Cache-Control": "no-store"}, data)


def _error(code: str, message: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return {"Content-Type": "application/json"}, body


def _send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    request.send_response(status)
    for key, value in headers.items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(body)


@click.command("console")
@click.option("--port", default=8700, show_default=True, help="the local port (0: any free one)")
@click.option("--open/--no-open", "open_browser", default=True, help="open the console in a browser")
@pass_context
def console(obj: Context, port: int, open_browser: bool) -> None:
    """The web console on localhost, its API calls signed with your AWS credentials (as the CLI's are)."""
    client = obj.client
    caller = client.request(
        "GET", "/me"
    )  # the credentials work and the API knows the caller, before a browser opens
    proxy = ConsoleProxy(client, port)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # a shell's background job starts with SIGINT ignored
    who = "an administrator" if caller["admin"] else f"team {caller['team']}"
    click.echo(f"Trainforge console: {proxy.url}   (API: {client.api_url}, as {who}; Ctrl-C stops)", err=True)
    if open_browser:
        webbrowser.open(proxy.url)
    try:
        proxy.serve_forever()
    except KeyboardInterrupt:
        click.echo("console stopped", err=True)
