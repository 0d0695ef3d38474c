"""`trainforge console`'s proxy over real HTTP: it serves the console's files, forwards the console's own calls
signed with SigV4 (checked here by computing the signature again from what the API received), and refuses what a
page of another site could make a browser send it: no console header, another Host (DNS rebinding), another
Origin, other methods."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trainforge.cli.client import TrainforgeClient
from trainforge.cli.console import ConsoleProxy
from trainforge.console_assets import STATIC, console_asset

KEY, SECRET = "AKIDCONSOLETEST", "console-test-secret"
REGION = "eu-west-1"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """A stand-in for API Gateway on 127.0.0.2 (not a local host to the client, so it signs): records each
    request and answers 404 for /jobs/404, 200 otherwise."""

    url: str
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    record: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            status = 404 if self.path.endswith("/jobs/404") else 200
            data = json.dumps({"error": {"code": "not_found", "message": "no job 404"}} if status == 404
                              else {"path": self.path}).encode()  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield FakeApi(f"http://127.0.0.2:{server.server_address[1]}/prod", record)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleProxy]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    running = ConsoleProxy(TrainforgeClient(api.url, region=REGION)).start()
    try:
        yield running
    finally:
        running.stop()


def fetch(proxy: ConsoleProxy, path: str, method: str = "GET", body: bytes | None = None,
          **headers: str) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    request = urllib.request.Request(f"http://127.0.0.1:{proxy.port}{path}", data=body, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def signature_holds(seen: Seen, api_url: str) -> bool:
    """Sign what the API received again, with the same key and time, over the headers the request says it
    signed: the signature matches only if the proxy signed this very method, path, query and body."""
    authorization = seen.headers["Authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {k: v for k, v in seen.headers.items() if k.lower() in signed}
    host = api_url.split("/")[2]
    request = AWSRequest(method=seen.method, url=f"http://{host}{seen.path}", data=seen.body, headers=headers)
    request.context["timestamp"] = seen.headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials(KEY, SECRET), "execute-api", REGION)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return f"Credential={KEY}/" in authorization and authorization.endswith(f"Signature={expected}")


def test_the_consoles_calls_are_forwarded_signed_as_the_user(proxy: ConsoleProxy, api: FakeApi) -> None:
    status, _, body = fetch(proxy, "/jobs?status=Failed&limit=50", X_Trainforge_Console="1")
    assert status == 200 and json.loads(body) == {"path": "/prod/jobs?status=Failed&limit=50"}
    status, _, body = fetch(proxy, "/jobs/7/cancel", "POST", b"{}", X_Trainforge_Console="1",
                            Content_Type="application/json")  # fmt: skip
    assert status == 200
    get, post = api.seen
    assert get.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY}/")
    assert f"/{REGION}/execute-api/aws4_request" in get.headers["Authorization"]
    assert signature_holds(get, api.url) and signature_holds(post, api.url)
    assert post.body == b"{}"
    tampered = Seen(get.method, get.path.replace("Failed", "Completed"), get.headers, get.body)
    assert not signature_holds(tampered, api.url)  # the check can fail


def test_the_apis_errors_pass_through_as_they_are(proxy: ConsoleProxy, api: FakeApi) -> None:
    status, headers, body = fetch(proxy, "/jobs/404", X_Trainforge_Console="1")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["message"] == "no job 404"


@pytest.mark.parametrize(
    ("method", "headers", "code"),
    [
        ("GET", {}, "not_the_console"),  # a link, an <img> or a form of another site
        ("POST", {}, "not_the_console"),
        ("GET", {"X_Trainforge_Console": "1", "Origin": "https://evil.example"}, "not_the_console"),
        ("GET", {"X_Trainforge_Console": "1", "Host": "evil.example"}, "wrong_host"),  # DNS rebinding
        ("PUT", {"X_Trainforge_Console": "1"}, "method_not_allowed"),
    ],
)
def test_what_another_page_could_send_is_refused_and_never_signed(
    proxy: ConsoleProxy, api: FakeApi, method: str, headers: dict[str, str], code: str
) -> None:
    if headers.get("Host") == "evil.example":
        headers = {**headers, "Host": f"evil.example:{proxy.port}"}
    status, _, body = fetch(proxy, "/jobs/1/cancel", method, b"{}" if method != "GET" else None, **headers)
    assert status in (403, 405) and json.loads(body)["error"]["code"] == code
    assert api.seen == []


def test_the_consoles_own_files_come_from_the_proxy_with_a_strict_policy(proxy: ConsoleProxy) -> None:
    assert (STATIC / "index.html").is_file(), "the console is not built: make console"
    status, headers, body = fetch(proxy, "/console/")
    assert status == 200 and b'<div id="app">' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, _ = fetch(proxy, "/console/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, _, body = fetch(proxy, "/")  # the root redirects to the console (urllib follows)
    assert status == 200 and b'<div id="app">' in body


def test_console_files_stay_inside_their_folder(tmp_path: Path) -> None:
    assert console_asset("/console").status == 308
    assert console_asset("/console/", static=tmp_path).status == 503  # not built: says how to build it
    (tmp_path / "index.html").write_text("<p>console</p>")
    (tmp_path.parent / "secret.txt").write_text("no")
    assert console_asset("/console/", static=tmp_path).body == b"<p>console</p>"
    assert console_asset("/console/../secret.txt", static=tmp_path).status == 404
    assert console_asset("/console/%2e%2e/secret.txt", static=tmp_path).status == 404
    assert console_asset("/console/nothing.js", static=tmp_path).status == 404
