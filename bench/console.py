"""The console's job list, first render, with 10,000 and with 1,000,000 jobs in the database, against one API call
measured in the same run.

Real parts: PostgreSQL (a scratch database filled as the listing benchmark fills it), the API handler imported as
Lambda imports it and served over HTTP by local mode's API Gateway stand-in (which also serves the console's
files), and Debian's Chromium driven by Playwright.

- **one API call** (the baseline): ``GET /jobs?limit=50`` over HTTP from Python, the page the list asks for;
- **first render** (measured): a fresh browser context (no cache) opens ``/console/#/jobs``; the time from the
  navigation's start to the console's ``jobs-rendered`` mark, set once the table holds the page of jobs. It holds
  the HTML, the script and the stylesheet, ``GET /me``, ``GET /jobs`` and drawing the table.

Targets: under 1 s (the issue's bound), and within 30 API calls' time (ratio <= 30). The browser's own floor is
most of it, and the note reports it: a fresh context loading a bare JSON answer (``/health``) already takes about
six API calls' time here, before the console's four files, its two API calls (sent together), starting the script
and drawing 50 rows.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
import urllib.request
from typing import Any

from bench.common import Row, row
from bench.database import filled
from local_mode.api_server import LocalApiServer
from trainforge.local.aws.emulator import LocalAws, environment
from trainforge.local.postgres import scratch_database

# Debian's Chromium, launched as the console's tests launch it too. As FACTS.md found: without the
# background-networking flags, Chromium keeps dialling hosts it cannot reach.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
RENDERED = """() => new Promise((resolve) => {
  const look = () => {
    const mark = performance.getEntriesByName("jobs-rendered")[0];
    if (mark && document.querySelectorAll("table.jobs tbody tr").length) resolve(mark.startTime);
    else setTimeout(look, 5);
  };
  look();
})"""


def console_first_render(
    server_url: str, sizes: tuple[int, ...] = (10_000, 1_000_000), runs: int = 15
) -> list[Row]:
    from playwright.sync_api import sync_playwright

    aws = LocalAws().start()
    rows: list[Row] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for size in sizes:
                with scratch_database(server_url, f"trainforge_bench_console_{size}") as url:
                    filled(url, size).close()
                    values = {**aws.environ(), "DATABASE_URL": url, "TRAINFORGE_MODE": "local",
                              "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                              "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_NAMESPACE": "Trainforge"}  # fmt: skip
                    with environment(values):
                        rows.append(_measure(browser, size, runs))
            browser.close()
    finally:
        aws.stop()
    return rows


def _measure(browser: Any, size: int, runs: int) -> Row:
    sys.modules.pop("lambdas.api.handler", None)  # a cold start: the module reads this database's settings
    module = importlib.import_module("lambdas.api.handler")
    server = LocalApiServer(lambda: module).start()
    try:

        def api_call() -> float:
            started = time.perf_counter()
            with urllib.request.urlopen(f"{server.url}/jobs?limit=50", timeout=30) as response:
                response.read()
            return (time.perf_counter() - started) * 1000

        def bare_page() -> float:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{server.url}/health")
            loaded = float(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            context.close()
            return loaded

        def first_render() -> float:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{server.url}/console/#/jobs")
            shown = float(page.evaluate(RENDERED))
            context.close()
            return shown

        for _ in range(3):  # warm both: the handler's connection, the server's page cache, Chromium's process
            api_call(), first_render()
        calls, renders, bare = [], [], []
        for _ in range(runs):  # alternately, so that a slow moment of the machine falls on both
            calls.append(api_call())
            renders.append(first_render())
            bare.append(bare_page())
    finally:
        server.stop()
        module.RUNTIME.close()
    render, call, floor = statistics.median(renders), statistics.median(calls), statistics.median(bare)
    under = render < 1000 and max(renders) < 1000
    measured = render if under else float("inf")  # over 1 s fails the row, whatever the ratio
    return row(f"console: job list first render, {size:,} jobs", measured, call, "ms", "<=", 30.0,
               f"under 1 s: {'yes' if under else 'NO'} (median {render:.0f} ms, slowest of {runs} "
               f"{max(renders):.0f} ms); one GET /jobs {call:.1f} ms; a bare page in a fresh context "
               f"{floor:.0f} ms")  # fmt: skip
