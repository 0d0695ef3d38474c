"""The web console's files (built from ``console/`` by ``make console`` into ``static/``), answered for a path under
``/console/``: by local mode beside its API, and by ``trainforge console`` beside a deployed one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "/console"
STATIC = Path(__file__).parent / "static"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

# The console calls only its own origin (the API, or the proxy in front of it), and nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def console_asset(path: str, static: Path = STATIC) -> Asset:
    """The answer for ``path`` (its query already removed), which :func:`is_console_path` accepted."""
    if path == PREFIX:  # relative asset links need the trailing slash
        return Asset(308, {"Location": PREFIX + "/"})
    name = path[len(PREFIX) + 1 :] or "index.html"
    index = static / "index.html"
    if not index.is_file():
        return _text(503, "The console is not built: run `make console` (it needs Node.js and npm).")
    root = static.resolve()
    target = (static / name).resolve()
    if root not in target.parents or not target.is_file():
        return _text(404, f"No console file {name!r}.")
    headers = {
        "Content-Type": _TYPES.get(target.suffix, "application/octet-stream"),
        # index.html names app.js and app.css without a hash: revalidate, so a rebuilt console is seen at once
        "Cache-Control": "no-cache",
        **SECURITY_HEADERS,
    }
    return Asset(200, headers, target.read_bytes())


def _text(status: int, message: str) -> Asset:
    return Asset(status, {"Content-Type": "text/plain; charset=utf-8", **SECURITY_HEADERS}, message.encode())
