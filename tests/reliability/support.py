"""Fault injection on loopback: a TCP proxy that can cut the database away, and a SageMaker endpoint that
answers with the errors SageMaker gives."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

from trainforge.local.throttling import Refusal, SageMakerFront


class DatabaseCutter:
    """Forwards TCP connections to PostgreSQL (TCP or unix socket); ``cut()`` drops every connection and refuses
    new ones, as a database going down does; ``restore()`` brings it back."""

    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.upstream)
        else:
            upstream = socket.create_connection(self.upstream)
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
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._up.clear()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass
            self._sockets.clear()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


class FaultySageMaker(SageMakerFront):
    """CreateTrainingJob for a job whose name contains a fault word answers that fault (``throttle`` only its
    first ``throttle_times`` attempts; ``slow`` sleeps on its first attempt); everything else passes to moto."""

    FAULTS = {
        "quota": (
            400,
            "ResourceLimitExceeded",
            "The account-level service limit 'ml.m5.large for training job usage' is 0",
        ),
        "invalid": (400, "ValidationException", "Image URI is not valid"),
        "throttle": (400, "ThrottlingException", "Rate exceeded"),
    }

    def __init__(self, upstream: str, *, throttle_times: int = 3, slow_seconds: float = 2.0) -> None:
        super().__init__(upstream)
        self.throttle_times, self.slow_seconds = throttle_times, slow_seconds
        self.attempts: dict[str, int] = {}
        self.start()

    def intercept(self, target: str, body: bytes) -> Refusal | None:
        if target != "SageMaker.CreateTrainingJob":
            return None
        name = json.loads(body).get("TrainingJobName", "")
        attempt = self.attempts[name] = self.attempts.get(name, 0) + 1
        for word, refusal in self.FAULTS.items():
            if word in name and (word != "throttle" or attempt <= self.throttle_times):
                return refusal
        if "slow" in name and attempt == 1:
            time.sleep(self.slow_seconds)
        return None
