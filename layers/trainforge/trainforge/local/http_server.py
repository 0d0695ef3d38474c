"""A threading HTTP server for bursts, for local mode's API and `trainforge console`'s proxy."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class BurstServer(ThreadingHTTPServer):
    """A thread per connection, and a listen backlog for bursts: the standard library's is 5, and the kernel
    resets connections beyond it (30 clients at once saw resets); API Gateway never does. The kernel caps it at
    ``net.core.somaxconn``."""

    request_queue_size = 1024
    daemon_threads = True
