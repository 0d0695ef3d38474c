"""Trainforge's benchmarks: each figure a ratio against a baseline measured in the same run (medians of repeated
runs), because these machines are noisy. `make bench` prints the table and writes bench/results.json.

1. start-up, each handler in a fresh process with Lambda's environment, ÷ a bare `import boto3`:
   import only (targets: event handlers <= 1.5, api <= 2.2); init + a real first event against PostgreSQL and
   the AWS emulator (training_state, build_state <= 1.8; submissions, reconcile <= 3.0; api <= 2.2)
2. state changes: round trips per change at the wire (== 1), and events/s with 0.5 ms added each way ÷ the same
   statement through psycopg 3 in autocommit (>= 0.8)
3. GET /jobs page of 50 at 1,000,000 rows ÷ at 10,000 rows      (target <= 1.2)
4. a burst of 300 submissions against a throttling SageMaker    (all accepted, >= 90% of the allowed rate)
5. 200 jobs at once for one instance type with a quota of 4      (never over 4, all complete, none sent twice;
   a job's end admits the next within 2x the time its own state change takes to apply)
6. a SageMaker event's arrival → its team's webhook request ÷ one event delivery (EventBridge → SQS → function)
                                                                (target <= 2.0: the notice's own delivery, and the
                                                                handling on either side of it within as long again)
7. the console's job list, first render in Chromium at 10,000 and at 1,000,000 jobs ÷ one GET /jobs
                                                                (target <= 30, and under 1 s)
8. the layer's and each function's unzipped size                (Lambda's limit: 250 MB)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.burst import BURST_RATE, submission_burst  # noqa: E402
from bench.capacity import capacity_queue  # noqa: E402
from bench.common import Row, row  # noqa: E402
from bench.console import console_first_render  # noqa: E402
from bench.database import events_throughput, listing  # noqa: E402
from bench.notices import notice_latency  # noqa: E402
from bench.startup import HANDLERS, startup  # noqa: E402
from trainforge.local.postgres import postgres_server  # noqa: E402


# 5 -------------------------------------------------------------------------------------------------------------
def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def package_sizes() -> list[Row]:
    from stacks.layer_build import build

    layer = build()
    limit = 250 * 1024 * 1024
    layer_bytes = size_of(layer / "python")
    rows = [row("package: layer (unzipped)", layer_bytes / 1e6, limit / 1e6, "MB", "<=", 1.0)]
    for name in HANDLERS:
        code = size_of(ROOT / "lambdas" / name)
        rows.append(
            row(f"package: {name} function + layer", (code + layer_bytes) / 1e6, limit / 1e6, "MB", "<=", 1.0)
        )
    return rows


def print_table(rows: list[Row]) -> None:
    headers = ["benchmark", "measured", "unit", "baseline", "ratio", "target", "met"]
    cells = [
        [str(r.get(h, "")) if h != "met" else ("yes" if r["met"] else "NO") for h in headers] for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for cell in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))
    for r in rows:
        if r.get("note"):
            print(f"  {r['benchmark']}: {r['note']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["startup", "events", "listing", "burst", "capacity", "notices", "console", "package"],
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    chosen = set(
        args.only or ["startup", "events", "listing", "burst", "capacity", "notices", "console", "package"]
    )
    quick = args.quick
    rows: list[Row] = []
    with postgres_server(os.environ.get("DATABASE_URL")) as server:
        if "startup" in chosen:
            rows += startup(3 if quick else 7, server)
        if "events" in chosen:
            rows += events_throughput(server, 500 if quick else 2000)
        if "listing" in chosen:
            rows += listing(server, 10_000, 100_000 if quick else 1_000_000, runs=15 if quick else 41)
        if "burst" in chosen:
            rows += submission_burst(server, 60 if quick else 300, rate=BURST_RATE, workers=2)
        if "capacity" in chosen:
            rows += capacity_queue(server, 40 if quick else 200)
        if "notices" in chosen:
            rows += notice_latency(server, 10 if quick else 40)
        if "console" in chosen:
            rows += console_first_render(
                server, (10_000, 100_000 if quick else 1_000_000), 5 if quick else 15
            )
        if "package" in chosen:
            rows += package_sizes()
    print_table(rows)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "system": platform.platform(), "when": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    args.json.write_text(json.dumps({"machine": machine, "quick": quick, "results": rows}, indent=2))
    print(f"\nwritten: {args.json}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
