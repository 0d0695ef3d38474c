"""A TCP proxy in front of PostgreSQL that counts round trips, can add latency each way, and can cut the
database away: how the tests and the benchmark see, at the wire, what a statement costs (the driver's own
counters would only say what it meant to send), and what a database going down looks like."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from types import TracebackType


class WireProxy:
    """Listens on 127.0.0.1; each client connection is piped to ``upstream`` (a (host, port) or a unix socket
    path). A round trip is counted each time the client speaks after the server did (or first)."""

    def __init__(self, upstream: tuple[str, int] | str, delay_seconds: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay_seconds
        self.round_trips = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._closed = False
        self._up = threading.Event()
        self._up.set()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.round_trips = 0

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.upstream)
            return upstream
        upstream = socket.create_connection(self.upstream)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            state = {"last": "server"}
            for source, target, side in ((client, upstream, "client"), (upstream, client, "server")):
                threading.Thread(target=self._pipe, args=(source, target, side, state), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, side: str, state: dict[str, str]) -> None:
        # Latency is modelled per chunk by its arrival time, so a flight split into chunks is delayed once.
        pending: queue.Queue[tuple[float, bytes] | None] = queue.Queue()

        def deliver() -> None:
            while (item := pending.get()) is not None:
                due, data = item
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                try:
                    target.sendall(data)
                except OSError:
                    return
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

        deliverer = threading.Thread(target=deliver, daemon=True)
        deliverer.start()
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                pending.put(None)
                return
            with self._lock:
                if side == "client" and state["last"] != "client":
                    self.round_trips += 1
                state["last"] = side
            pending.put((time.perf_counter() + self.delay, data))

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a database going down does."""
        self._up.clear()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def __enter__(self) -> WireProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
