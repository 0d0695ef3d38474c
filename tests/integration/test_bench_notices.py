"""The notices benchmark stays runnable and measures what it says: every job's notice reaches the webhook once
(its figures are `make bench`'s to report, never asserted here)."""

from __future__ import annotations

from bench.notices import notice_latency


def test_the_notice_benchmark_hears_every_job_once(postgres_server_url: str) -> None:
    (result,) = notice_latency(postgres_server_url, jobs=3)
    assert result["note"].startswith("3 jobs, each notice once"), result
    assert result["baseline"] > 0 and result["measured"] > 0
