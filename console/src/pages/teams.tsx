// Teams: each one's budget (spent, committed, left), its spend by day and by instance type, and, for
// administrators, its members.
import { useState } from "preact/hooks";
import { get } from "../api";
import type { Caller, Team, TeamList, TeamUsage } from "../api";
import { Chart } from "../lazy-chart";
import { Facts, Loading, Meter, Problem } from "../parts";
import { href } from "../router";
import { usd, usePoll } from "../util";

const thisMonth = () => new Date().toISOString().slice(0, 7);

export function TeamsPage({ caller }: { caller: Caller | null }) {
  const teams = usePoll(() => get<TeamList>("/teams"), [], 15000);
  const [month, setMonth] = useState(thisMonth);
  return (
    <div>
      <div class="title-row">
        <h1>Teams</h1>
        <label class="month">Month <input type="month" value={month} onChange={(e) => setMonth(e.currentTarget.value || thisMonth())} /></label>
      </div>
      <Problem error={teams.error} />
      {!teams.data && !teams.error && <Loading what="teams" />}
      {teams.data && !teams.data.teams.length && <p class="empty">No teams are defined: every job belongs to no team.</p>}
      {teams.data?.teams.map((team) => <TeamPanel key={team.name} team={team} month={month} admin={caller?.admin ?? false} />)}
    </div>
  );
}

function TeamPanel({ team, month, admin }: { team: Team; month: string; admin: boolean }) {
  const usage = usePoll(() => get<TeamUsage>(`/teams/${encodeURIComponent(team.name)}/usage`, { month }), [team.name, month], 15000);
  const u = usage.data;
  const budget = u?.monthly_budget_usd ?? team.monthly_budget_usd;
  const left = budget !== null && budget !== undefined && u ? budget - u.spent_usd - u.committed_usd : null;
  return (
    <section class="panel team" aria-labelledby={`team-${team.name}`}>
      <h2 id={`team-${team.name}`}>{team.name} <a class="small" href={href("/jobs", { team: admin ? team.name : null })}>jobs →</a></h2>
      <Problem error={usage.error} />
      {!u && !usage.error && <Loading what="usage" />}
      {u && (
        <>
          <Facts items={[
            ["Budget", budget !== null && budget !== undefined ? `${usd(budget)} a month` : "none"],
            ["Spent", usd(u.spent_usd)],
            ["Committed", usd(u.committed_usd)],
            ["Left", left !== null ? usd(left) : "–"],
            ["Instances in flight", `${team.instances_in_flight}${team.max_instances_in_flight ? ` of ${team.max_instances_in_flight}` : ""}`],
            ["Jobs", Object.entries(u.jobs_by_outcome).map(([k, v]) => `${v} ${k}`).join(", ") || "none"],
          ]} />
          {budget ? <Meter value={u.spent_usd + u.committed_usd} max={budget} label={`${team.name}'s budget used`} /> : null}
          <div class="charts">
            <figure>
              <figcaption>Spend by day, {u.month}</figcaption>
              {u.by_day.length ? (
                <Chart kind="bars" x={u.by_day.map((_, i) => i)} xNames={u.by_day.map((d) => d.day.slice(5))}
                       series={[{ label: "USD", values: u.by_day.map((d) => d.usd) }]} xLabel="day" yLabel="USD"
                       height={200} title={`${team.name} spend by day`} />
              ) : <p class="empty">No spend this month.</p>}
            </figure>
            <figure>
              <figcaption>Spend by instance type</figcaption>
              {u.by_instance_type.length ? (
                <Chart kind="bars" x={u.by_instance_type.map((_, i) => i)} xNames={u.by_instance_type.map((t) => t.instance_type)}
                       series={[{ label: "USD", values: u.by_instance_type.map((t) => t.usd), color: "#9333ea" }]}
                       xLabel="instance type" yLabel="USD" height={200} title={`${team.name} spend by instance type`} />
              ) : <p class="empty">No spend this month.</p>}
            </figure>
          </div>
        </>
      )}
      {admin && (
        <details class="members">
          <summary>Members ({team.members.length})</summary>
          <ul>{team.members.map((m) => <li key={m}><code>{m}</code></li>)}</ul>
        </details>
      )}
    </section>
  );
}
