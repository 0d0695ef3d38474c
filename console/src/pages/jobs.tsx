// The job list: live (refreshed every 5 s), filtered by status, team and name, paged by the API's cursor (a
// keyset, so the thousandth page costs what the first does).
import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { JOB_STATUSES, get } from "../api";
import type { Caller, Job, JobPage, TeamList } from "../api";
import { Loading, Problem, StatusBadge } from "../parts";
import { href, navigate } from "../router";
import { age, usd, usePoll } from "../util";

const PAGE_SIZE = 50;

export function cost(job: Job): string {
  const spent = job.report?.estimated_cost_usd;
  if (spent !== null && spent !== undefined) return usd(spent);
  return job.cost_ceiling_usd !== null && job.cost_ceiling_usd !== undefined ? `≤ ${usd(job.cost_ceiling_usd)}` : "–";
}

export function JobsPage({ params, caller }: { params: URLSearchParams; caller: Caller | null }) {
  const status = params.get("status") ?? "";
  const team = params.get("team") ?? "";
  const name = params.get("name") ?? "";
  const cursor = params.get("cursor") ?? "";
  const back = params.get("back") ?? ""; // the cursors of the pages before, for "Newer"
  const jobs = usePoll(
    () => get<JobPage>("/jobs", { status, team, job_name: name, cursor, limit: PAGE_SIZE }),
    [status, team, name, cursor],
    5000,
  );
  const admin = caller?.admin ?? false;
  const teams = usePoll(() => (admin ? get<TeamList>("/teams") : Promise.resolve({ teams: [] })), [admin]);
  const [nameText, setNameText] = useState(name);
  useEffect(() => setNameText(name), [name]);
  useLayoutEffect(() => {
    if (jobs.data) performance.mark("jobs-rendered"); // the rows are in the page (bench/console.py reads it)
  }, [jobs.data]);

  const filters = { status, team, name };
  const go = (change: Record<string, string>) => navigate("/jobs", { ...filters, ...change });
  const previous = back ? back.split(",") : [];

  return (
    <div>
      <h1>Jobs</h1>
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); go({ name: nameText.trim() }); }}>
        <label>
          Status
          <select value={status} onChange={(e) => go({ status: e.currentTarget.value })}>
            <option value="">Any</option>
            {JOB_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        {admin ? (
          <label>
            Team
            <select value={team} onChange={(e) => go({ team: e.currentTarget.value })}>
              <option value="">Every team</option>
              {(teams.data?.teams ?? []).map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
            </select>
          </label>
        ) : caller ? (
          <p class="scope">Team <strong>{caller.team}</strong></p>
        ) : null}
        <label>
          Job name
          <input type="search" value={nameText} placeholder="exact name" spellcheck={false}
                 onInput={(e) => setNameText(e.currentTarget.value)} />
        </label>
        <button type="submit">Filter</button>
        {(status || team || name) && <a href={href("/jobs")}>Clear filters</a>}
      </form>
      <Problem error={jobs.error} />
      {!jobs.data && !jobs.error && <Loading what="jobs" />}
      {jobs.data && <JobTable jobs={jobs.data.jobs} />}
      <nav class="pager" aria-label="Pages">
        {cursor && (
          <a href={href("/jobs", { ...filters, cursor: previous.at(-1) || "", back: previous.slice(0, -1).join(",") })}>
            ← Newer
          </a>
        )}
        {jobs.data?.next_cursor && (
          <a href={href("/jobs", { ...filters, cursor: jobs.data.next_cursor, back: [...previous, cursor].join(",") })}>
            Older →
          </a>
        )}
      </nav>
    </div>
  );
}

function JobTable({ jobs }: { jobs: Job[] }) {
  if (!jobs.length) return <p class="empty">No jobs match.</p>;
  return (
    <div class="table-wrap">
      <table class="jobs" data-loaded="true">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Job</th>
            <th scope="col">Team</th>
            <th scope="col" class="wide-only">Instance</th>
            <th scope="col" class="num">Cost</th>
            <th scope="col">Age</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td><StatusBadge status={job.status} secondary={job.secondary_status} /></td>
              <td><a href={href(`/jobs/${job.id}`)}>{job.job_name}</a></td>
              <td>{job.team ?? "–"}</td>
              <td class="wide-only">{job.instance_type ?? "–"}{(job.instance_count ?? 1) > 1 ? ` × ${job.instance_count}` : ""}</td>
              <td class="num">{cost(job)}</td>
              <td><time dateTime={job.created_at ?? undefined}>{age(job.created_at)}</time></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
