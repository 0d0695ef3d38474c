"""A small webhook receiver, as a team would run one: it checks each notice's signature, keeps what it got, and
prints it. The demo runs one for its vision team; ``python -m local_mode.webhook_receiver --secret s3cret`` runs
one for a webhook subscription of your own (http://127.0.0.1:<port>/ as its target)."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300  # a signature older than this is refused (a replayed request)


def verify(secret: str, header: str, body: bytes, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Trainforge-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'> (docs/notifications.md)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        stamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - stamp) <= tolerance and hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookReceiver:
    """Listens on 127.0.0.1 (a free port unless given); ``received`` holds each signed notice's event, in order.
    A request whose signature does not check is answered 401 and kept in ``refused``."""

    def __init__(self, secret: str, port: int = 0, on_notice: Any = None) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not verify(receiver.secret, self.headers.get("Trainforge-Signature", ""), body):
                    receiver.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                event = json.loads(body)
                with receiver._arrived:
                    receiver.received.append(event)
                    receiver._arrived.notify_all()
                if on_notice is not None:
                    on_notice(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the notices are printed by whoever wants them, not as access-log lines

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="webhook-receiver", daemon=True
        )

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, matches: Any, timeout: float) -> dict[str, Any] | None:
        """The first notice for which ``matches(event)`` is true, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = next((e for e in self.received if matches(e)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._arrived.wait(left)


def headline(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    name = detail.get("job_name") or detail.get("team") or ""
    change = (
        f"{detail.get('old_status') or '-'} → {detail.get('new_status')}" if "new_status" in detail else ""
    )
    if "threshold_percent" in detail:
        change = f"{detail['threshold_percent']}% of ${detail.get('monthly_budget_usd')}"
    return f"{event.get('detail-type')}: {name} {change}".rstrip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--secret", required=True, help="the value of the subscription's Secrets Manager secret"
    )
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()

    def show(event: dict[str, Any]) -> None:
        # the request's whole body: the EventBridge event, its detail inside
        print(f"got, signature checked: {headline(event)}", flush=True)
        print(json.dumps(event, indent=2, sort_keys=True), flush=True)

    with WebhookReceiver(args.secret, args.port, on_notice=show) as receiver:
        print(f"listening on {receiver.url} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
