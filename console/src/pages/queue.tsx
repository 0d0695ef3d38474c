// The pools: each one's quota and instances in use, and its line of waiting jobs.
import { get } from "../api";
import type { PoolList } from "../api";
import { Loading, Meter, Problem } from "../parts";
import { href } from "../router";
import { duration, secondsSince, usePoll, when } from "../util";

export function QueuePage() {
  const pools = usePoll(() => get<PoolList>("/pools"), [], 5000);
  return (
    <div>
      <h1>Queue</h1>
      <Problem error={pools.error} />
      {!pools.data && !pools.error && <Loading what="pools" />}
      {pools.data && !pools.data.pools.length && <p class="empty">No pool yet: a pool appears with the first job that asks for its instance type.</p>}
      {pools.data?.pools.map((pool) => (
        <section class="panel pool" key={pool.pool} aria-labelledby={`pool-${pool.pool}`}>
          <h2 id={`pool-${pool.pool}`}>{pool.instance_type}{pool.spot ? " (spot)" : ""}</h2>
          <p>
            <strong>{pool.in_use}</strong> {pool.limit !== null ? `of ${pool.limit} ` : ""}instances in use
            {pool.quota !== null && pool.limit !== pool.quota ? ` (quota ${pool.quota}, lowered after SageMaker refused)` : ""}
            {" · "}{pool.quota_source ? `quota from ${pool.quota_source}` : "no quota read yet (none is enforced until one is)"}
            {pool.quota_read_at ? `, read ${when(pool.quota_read_at)}` : ""}
            {" · "}<strong>{pool.waiting}</strong> waiting
          </p>
          <Meter value={pool.in_use} max={pool.limit} label={`${pool.pool} instances in use`} />
          {pool.jobs.length > 0 ? (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr><th scope="col" class="num">Place</th><th scope="col">Job</th><th scope="col">Team</th><th scope="col" class="num">Priority</th><th scope="col">Waiting for</th></tr>
                </thead>
                <tbody>
                  {pool.jobs.map((job) => (
                    <tr key={job.id}>
                      <td class="num">{job.position}</td>
                      <td><a href={href(`/jobs/${job.id}`)}>{job.job_name}</a></td>
                      <td>{job.team ?? "–"}</td>
                      <td class="num">{job.priority}</td>
                      <td>{duration(secondsSince(job.waiting_since))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : pool.waiting > 0 ? <p class="empty">None of the waiting jobs is your team's.</p> : null}
        </section>
      ))}
    </div>
  );
}
