"""The local API server answers like API Gateway where a client could notice, over a real socket: methods it
does not serve, and bodies whose Content-Length is missing, wrong or not kept."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest


def exchange(api: str, request: bytes, wait: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(api)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_trace_on_a_known_path_is_405_with_allow(local_api: str) -> None:
    status, headers, body = exchange(local_api, b"TRACE /jobs HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and headers["allow"] == "GET, POST"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


def test_any_method_token_reaches_the_api_and_gets_json(local_api: str) -> None:
    status, headers, body = exchange(local_api, b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and headers["content-type"] == "application/json" and json.loads(body)["error"]


def test_a_content_length_that_is_not_a_number_is_400(local_api: str) -> None:
    request = (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ten\r\n\r\n"
    )
    status, _, body = exchange(local_api, request)
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_content_length"


def test_a_body_shorter_than_its_content_length_is_answered_not_hung(local_api: str) -> None:
    started = time.monotonic()
    request = (
        b'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"'
    )
    status, _, body = exchange(local_api, request)
    assert status == 400 and json.loads(body)["error"]["code"] == "incomplete_body"
    assert time.monotonic() - started < 25


def test_a_chunked_body_is_asked_for_its_length(local_api: str) -> None:
    request = b"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    status, _, _ = exchange(local_api, request)
    assert status == 411


def test_a_body_over_the_gateway_limit_is_413_without_reading_it(local_api: str) -> None:
    request = b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n"
    status, _, _ = exchange(local_api, request)
    assert status == 413


def test_a_non_utf8_body_is_400_over_http(local_api: str) -> None:
    body = b'{"job_name": "\xff"}'
    request = (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    status, _, answer = exchange(local_api, request)
    assert status == 400 and "UTF-8" in json.loads(answer)["error"]["message"]


def test_a_burst_of_two_hundred_connections_each_gets_an_answer(local_api: str) -> None:
    """API Gateway never resets a connection for a burst: 200 clients connect at once, and every one gets an
    HTTP answer (the standard library's listen backlog of 5 reset dozens)."""
    clients = 200
    start = threading.Barrier(clients)
    answers: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        try:
            status, _, body = exchange(
                local_api, b"GET /jobs?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", wait=60
            )
            json.loads(body)
        except Exception as exc:  # a reset or a hang is what this test is for: counted, not raised
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
            return
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert failures == [] and answers == [200] * clients


def test_the_api_port_is_held_from_the_start_and_a_server_never_started_stops_at_once() -> None:
    """Local mode binds the API's port before it starts anything else (the emulator and the stand-ins bind free
    ports too), and a start that fails before the API serves must still stop."""
    from local_mode.api_server import LocalApiServer

    server = LocalApiServer(lambda: pytest.fail("no request reaches a server that never started"))
    with socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", server.port))
    stopped = threading.Thread(target=server.stop, daemon=True)
    stopped.start()
    stopped.join(5)
    assert not stopped.is_alive()
