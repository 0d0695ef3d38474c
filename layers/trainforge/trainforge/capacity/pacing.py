"""Pacing: calls spaced to a rate, so a burst of submissions meets SageMaker's create limit (about one a second
per account) as a steady stream instead of a wall of throttling errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Blocks each caller until its turn: at most ``rate`` calls a second from this process."""

    def __init__(
        self, rate_per_second: float, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Wait for the next slot; return how long this call waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay
