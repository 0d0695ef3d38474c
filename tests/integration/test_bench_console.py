"""The console benchmark stays runnable and measures what it says: a page that really shows the jobs (its
figures are `make bench`'s to report, never asserted here)."""

from __future__ import annotations

from bench.console import console_first_render


def test_the_console_benchmark_times_a_rendered_job_list(postgres_server_url: str) -> None:
    (result,) = console_first_render(postgres_server_url, sizes=(120,), runs=1)
    assert result["benchmark"] == "console: job list first render, 120 jobs"
    assert result["baseline"] > 0 and 0 < result["measured"] < float("inf"), result
    assert "a bare page in a fresh context" in result["note"]
