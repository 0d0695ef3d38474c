"""`trainforge teams ...` (administrators define teams; a member reads its own) and `trainforge usage`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from trainforge.cli.output import table
from trainforge.cli.usage_chart import png_chart, terminal_chart
from trainforge.errors import SageMakerConfigurationError
from trainforge.models.team_definitions import load_teams_file


def _context() -> Any:
    return click.get_current_context().find_root().obj


def _show(teams: list[dict[str, Any]]) -> None:
    rows = [
        {
            **team,
            "budget": "-" if team["monthly_budget_usd"] is None else f"${team['monthly_budget_usd']:.2f}",
            "month": f"${team['this_month']['spent_usd']:.2f} + ${team['this_month']['committed_usd']:.2f}",
            "members": len(team["members"]),
            "limit": team["max_instances_in_flight"] or "-",
            # how it hears of its jobs, by kind: what `teams apply` stored, at a glance
            "notices": ", ".join(
                f"{n} {k}"
                for k, n in sorted(Counter(s["kind"] for s in team.get("notifications") or []).items())
            )
            or "-",
        }
        for team in teams
    ]
    table(rows, [("name", "TEAM"), ("dataset_prefix", "PREFIX"), ("members", "MEMBERS"), ("budget", "BUDGET"),
                 ("month", "SPENT + COMMITTED"), ("instances_in_flight", "IN FLIGHT"), ("limit", "MAX"),
                 ("notices", "NOTICES")])  # fmt: skip


@click.group(name="teams")
def teams() -> None:
    """Teams: their members, limits and this month's spend."""


@teams.command(name="list")
def list_teams() -> None:
    """Every team (administrators), or your own."""
    obj = _context()
    answer = obj.client.request("GET", "/teams")
    obj.emit(answer, lambda: _show(answer["teams"]))


@teams.command(name="show")
@click.argument("name")
def show_team(name: str) -> None:
    """One team, with its members."""
    obj = _context()
    team = obj.client.request("GET", f"/teams/{name}")

    def human() -> None:
        _show([team])
        for member in team["members"]:
            click.echo(f"  member: {member}")

    obj.emit(team, human)


@teams.command(name="apply")
@click.argument("teams_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def apply_teams(teams_file: Path) -> None:
    """Create or replace every team in a teams.json (the file the stack's S3 permissions are generated from)."""
    obj = _context()
    try:
        definitions = load_teams_file(teams_file)
    except (SageMakerConfigurationError, ValueError) as exc:
        raise click.UsageError(f"{teams_file}: {getattr(exc, 'message', exc)}") from None
    saved = []
    for definition in definitions:
        body = {k: (float(v) if k == "monthly_budget_usd" and v is not None else v)
                for k, v in definition.to_dict().items() if k != "name"}  # fmt: skip
        saved.append(obj.client.request("PUT", f"/teams/{definition.name}", body))
    obj.emit({"teams": saved}, lambda: _show(saved))


@teams.command(name="delete")
@click.argument("name")
def delete_team(name: str) -> None:
    """Delete a team whose jobs have all finished."""
    obj = _context()
    answer = obj.client.request("DELETE", f"/teams/{name}")
    obj.emit(answer, lambda: click.echo(f"deleted team {name}"))


@click.command()
@click.option("--team", default=None, help="the team (default: yours; administrators must name one)")
@click.option("--month", default=None, help="YYYY-MM (default: this month)")
@click.option("--png", "png_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="also write the chart to this PNG file")  # fmt: skip
def usage(team: str | None, month: str | None, png_path: Path | None) -> None:
    """A team's month: spend per day and per instance type against its budget, and jobs by outcome."""
    obj = _context()
    team = _team_of(obj, team)
    found = obj.client.request("GET", f"/teams/{team}/usage", query={"month": month})
    if png_path is not None:
        png_chart(found, png_path)

    def human() -> None:
        click.echo(terminal_chart(found))
        types = [{**row, "usd": f"${row['usd']:.2f}"} for row in found["by_instance_type"]]
        if types:
            table(types, [("instance_type", "INSTANCE TYPE"), ("usd", "COST"), ("jobs", "JOBS")])
        outcomes = ", ".join(
            f"{status} {count}" for status, count in sorted(found["jobs_by_outcome"].items())
        )
        click.echo(f"jobs: {outcomes or 'none'}")
        if png_path is not None:
            click.echo(f"chart written to {png_path}")

    obj.emit(found, human)


@click.group(name="notifications")
def notifications() -> None:
    """A team's notices: send a test, see the last deliveries and failures."""


def _team_of(obj: Any, team: str | None) -> str:
    if team is not None:
        return team
    mine = obj.client.request("GET", "/teams")["teams"]
    if not mine:
        raise click.UsageError(
            "no team is defined yet: define one (trainforge teams apply FILE), then name it with --team"
        )
    if len(mine) > 1:
        raise click.UsageError("name the team with --team (you see more than one)")
    return str(mine[0]["name"])


@notifications.command(name="test")
@click.option("--team", default=None, help="the team (default: yours; administrators must name one)")
def test_notifications(team: str | None) -> None:
    """Send a test notice to the team's subscriptions (webhooks, email, chat), as every event goes."""
    obj = _context()
    name = _team_of(obj, team)
    sent = obj.client.request("POST", f"/teams/{name}/notifications/test")
    obj.emit(sent, lambda: click.echo(
        f"test notice {sent['event_id']} queued for {sent['subscriptions']} subscription(s) of {name}: "
        f"trainforge notifications list --team {name}"
    ))  # fmt: skip


@notifications.command(name="list")
@click.option("--team", default=None, help="the team (default: yours; administrators must name one)")
def list_notifications(team: str | None) -> None:
    """The team's last deliveries, most recent first: delivered, failed (and why), or logged in local mode."""
    obj = _context()
    name = _team_of(obj, team)
    found = obj.client.request("GET", f"/teams/{name}/notifications")

    def human() -> None:
        if not found["deliveries"]:
            if not found["subscriptions"]:
                click.echo(f"team {name} subscribes to nothing: add notifications to its definition "
                           "(docs/notifications.md), then trainforge teams apply FILE")  # fmt: skip
            else:
                click.echo(f"no notices yet ({found['subscriptions']} subscription(s)): trainforge notifications test "
                           f"--team {name}")  # fmt: skip
            return
        table(found["deliveries"], [("updated_at", "WHEN"), ("event_id", "EVENT"), ("detail_type", "TYPE"),
                                    ("subscription", "TO"), ("status", "STATUS"), ("attempts", "TRIES"),
                                    ("last_error", "ERROR")])  # fmt: skip

    obj.emit(found, human)
