"""What the command prints: a job, its cost, its log lines."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from trainforge.cli.context import Context


def dollars(amount: float | None, *, billed_seconds: int | None = None) -> str:
    """A cost as a person reads it: ``$0.42``; ``< $0.01`` for a fraction of a cent (the report keeps four
    decimals, so a second of a small instance is stored as 0 although it was billed); ``unknown`` without one."""
    if amount is None:
        return "unknown"
    if 0 < amount < 0.01 or (amount == 0 and (billed_seconds or 0) > 0):
        return "< $0.01"
    return f"${amount:,.2f}"


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def shorten(text: str, width: int) -> str:
    """The first line of ``text``, cut to ``width`` characters (ending in "...")."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 3].rstrip() + "..."


def show_job(job: Mapping[str, Any]) -> None:
    click.echo(f"job {job['id']}  {job['job_name']}  {job['status']}"
               + (f" / {job['secondary_status']}" if job.get("secondary_status") else ""))  # fmt: skip
    if job.get("failure_reason"):
        click.echo(f"failure: {job['failure_reason']}")
    progress = job.get("progress") or {}
    if job.get("status") in ("Failed", "Stopped") and progress.get("furthest_step"):
        trained = progress.get("trained_seconds")
        click.echo(f"got as far as: {progress['furthest_step']}"
                   + (f", after {trained} s of training" if trained is not None else ""))  # fmt: skip
    if job.get("log_tail"):
        click.echo("last log lines:")
        for line in job["log_tail"]:
            click.echo(f"  | {line}")
    queue = job.get("queue")
    if queue:
        click.echo(f"waiting for capacity in {queue['pool']}: position {queue['position']}, "
                   f"gives up at {queue['deadline']}")  # fmt: skip
    for entry in job.get("history", []):
        line = f"  {entry['at']}  {entry['status']:<10} {entry['secondary_status'] or ''}".rstrip()
        click.echo(line + (f": {entry['detail']}" if entry.get("detail") else ""))
    if job.get("cost_ceiling_usd") is not None:
        price = job.get("price") or {}
        click.echo(f"  cost ceiling: {dollars(job['cost_ceiling_usd'])} (at most, before it runs"
                   + (f"; {price['source']}" if price.get("source") else "") + ")")  # fmt: skip
    report = job.get("report")
    if report:
        for name, value in sorted((report.get("final_metrics") or {}).items()):
            click.echo(f"  metric {name} = {value}")
        if report.get("model_artifacts_uri"):
            click.echo(f"  model: {report['model_artifacts_uri']}  (trainforge download {job['id']})")
        click.echo(
            f"  billable: {report.get('billable_seconds')} s, estimated cost: {dollars(report.get('estimated_cost_usd'), billed_seconds=report.get('billable_seconds'))}"
        )
        if report.get("spot_saving_usd") is not None:
            click.echo(f"  spot: {dollars(report['on_demand_equivalent_usd'])} on demand, "
                       f"saved {dollars(report['spot_saving_usd'])}")  # fmt: skip


def show_dry_run(checked: Mapping[str, Any]) -> None:
    """What ``submit --dry-run`` found: nothing was submitted."""
    price = checked.get("price") or {}
    capacity = checked["capacity"]
    image = checked["image"]
    verdict = "would be accepted" if checked.get("accepted", True) else "would NOT be accepted"
    click.echo(f"dry run: {checked['job_name']} is valid and {verdict}; nothing was submitted")
    click.echo(
        f"  {checked['instance_count']} x {checked['instance_type']}, channels: {', '.join(checked['channels'])}"
    )
    click.echo(f"  cost ceiling: {dollars(checked['cost_ceiling_usd'])}"
               + (f" at ${price['usd_per_hour']}/h ({price['source']})" if price else " (unpriced type)"))  # fmt: skip
    quota = capacity["quota"] if capacity["quota"] is not None else "unknown"
    click.echo(f"  capacity {capacity['pool']}: {capacity['in_use']} in use, quota {quota}, "
               f"{capacity['waiting']} waiting; it would {'wait' if capacity['would_wait'] else 'start at once'}")  # fmt: skip
    found = {True: "found", False: "MISSING", None: "not checked"}[image["exists"]]
    click.echo(f"  image {image['image_uri']}: {found} ({image['detail']})")
    for problem in checked.get("problems") or []:
        click.echo(f"  would not be accepted: {problem['field']}: {problem['message']}")


SINCE = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_time(text: str) -> str:
    """``10m``, ``2h``, ``30s``, ``1d`` before now, as the API's ISO time."""
    number, unit = text[:-1], text[-1:]
    if not number.isdigit() or unit not in SINCE:
        raise click.BadParameter("a number and s, m, h or d, such as 10m", param_hint="--since")
    return datetime.fromtimestamp(time.time() - int(number) * SINCE[unit], UTC).isoformat()


def print_new_logs(obj: Context, job_id: int, token: str | None, query: Mapping[str, Any]) -> str | None:
    """Print every log line after ``token`` (all of them when None); return the token to continue from."""
    while True:
        page = obj.client.request(
            "GET",
            f"/jobs/{job_id}/logs",
            query={**query, "limit": 1000, **({"next_token": token} if token else {})},
        )
        for event in page["events"]:
            if obj.json:
                click.echo(json.dumps(event))
            else:
                click.echo(f"{event['timestamp'][11:19]}  {event['instance']}  {event['message']}")
        token = page["next_token"]
        if not page["events"]:
            return token


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """Rows as aligned columns, or "(none)"."""
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r.get(key) is None else str(r.get(key))) for key, _ in columns] for r in rows]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (_, title) in enumerate(columns)]
    click.echo("  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)).rstrip())
