// One job: its state, timeline, logs (followed while it runs), metric curves, report, warm pool and cancel.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { FINISHED, get, post } from "../api";
import type { CancelResponse, HistoryEntry, JobArtifacts, JobMetrics, JobStatus, LogPage } from "../api";
import { Chart } from "../lazy-chart";
import { Facts, Loading, Meter, Problem, Section, StatusBadge } from "../parts";
import { href } from "../router";
import { asApiError, clock, duration, secondsSince, usd, usePoll, when } from "../util";

export function JobPage({ id }: { id: string }) {
  const [finished, setFinished] = useState(false);
  const [notice, setNotice] = useState<string | null>(null); // outlives the button: a stop can end the job at once
  const job = usePoll(() => get<JobStatus>(`/jobs/${id}`), [id], finished ? 0 : 3000);
  useEffect(() => setFinished(!!job.data && FINISHED.has(job.data.status)), [job.data?.status]);
  if (job.error && !job.data) return <div><h1>Job {id}</h1><Problem error={job.error} /></div>;
  if (!job.data) return <Loading what="the job" />;
  const j = job.data;
  return (
    <div>
      <p class="crumbs"><a href={href("/jobs")}>Jobs</a> /</p>
      <div class="title-row">
        <h1>{j.job_name}</h1>
        <StatusBadge status={j.status} secondary={j.secondary_status} />
        {!finished && <CancelButton job={j} onDone={(said) => { setNotice(said); job.reload(); }} />}
        {notice && <span class="notice" role="status">{notice}</span>}
      </div>
      <Problem error={job.error} />
      <Facts
        items={[
          ["Team", j.team],
          ["Instance", j.instance_type ? `${j.instance_type} × ${j.instance_count ?? 1}` : null],
          ["Priority", j.priority],
          ["Submitted by", j.submitted_by],
          ["Created", when(j.created_at)],
          ["Ran for", j.started_at ? duration(secondsSince(j.started_at, j.ended_at)) : null],
          ["Image", j.image_uri],
          ["Input", j.input_uri],
        ]}
      />
      {j.status === "Failed" && <Failure job={j} />}
      {j.queue && (
        <Section title="Waiting for capacity" id="queue">
          <Facts items={[
            ["Pool", <a href={href("/queue")}>{j.queue.pool}</a>],
            ["Place in line", j.queue.position],
            ["Waiting for", duration(secondsSince(j.queue.waiting_since))],
            ["Fails if still waiting at", when(j.queue.deadline)],
          ]} />
        </Section>
      )}
      <Timeline history={j.history} finished={finished} />
      <Curves id={id} finished={finished} />
      <Logs id={id} finished={finished} />
      <Report job={j} finished={finished} />
      {j.warm_pool && (
        <Section title="Warm pool" id="warm-pool">
          <Facts items={[
            ["Status", j.warm_pool.status],
            ["Billed while kept", duration(j.warm_pool.retained_billable_seconds)],
            ["Reused by", j.warm_pool.reused_by_job],
          ]} />
        </Section>
      )}
    </div>
  );
}

function CancelButton({ job, onDone }: { job: JobStatus; onDone: (notice: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      const answer = await post<CancelResponse>(`/jobs/${job.id}/cancel`);
      onDone(answer.cancelled ? "Stop requested." : `Not stopped: the job had already ended (${answer.job.status}).`);
    } catch (caught) {
      onDone(`Not stopped: ${asApiError(caught).message}`);
    } finally {
      setBusy(false);
      dialog.current?.close();
    }
  };
  return (
    <>
      <button class="danger" type="button" onClick={() => dialog.current?.showModal()}>Cancel job…</button>
      <dialog ref={dialog} aria-labelledby="cancel-title">
        <h2 id="cancel-title">Cancel {job.job_name}?</h2>
        <p>SageMaker stops the job; what it has billed so far stays billed. This cannot be undone.</p>
        <div class="actions">
          <button type="button" autofocus onClick={() => dialog.current?.close()}>Keep it running</button>
          <button type="button" class="danger" disabled={busy} onClick={confirm}>Cancel the job</button>
        </div>
      </dialog>
    </>
  );
}

function Failure({ job }: { job: JobStatus }) {
  return (
    <Section title="Why it failed" id="failure">
      <p class="failure-reason">{job.failure_reason ?? "SageMaker gave no reason."}</p>
      {job.log_tail?.length ? (
        <>
          <h3>The log's last lines</h3>
          <pre class="log">{job.log_tail.join("\n")}</pre>
        </>
      ) : null}
    </Section>
  );
}

function Timeline({ history, finished }: { history: HistoryEntry[]; finished: boolean }) {
  const attempts = new Set(history.map((h) => h.attempt)).size;
  return (
    <Section title="Timeline" id="timeline">
      <ol class="timeline">
        {history.map((entry, i) => {
          const next = history[i + 1];
          const lasted = entry.at && (next?.at || !finished) ? secondsSince(entry.at, next?.at) : null;
          const newAttempt = attempts > 1 && (i === 0 || history[i - 1].attempt !== entry.attempt);
          return (
            <li key={i} class={newAttempt ? "attempt-start" : ""}>
              {newAttempt && <strong class="attempt">Attempt {entry.attempt}</strong>}
              <time dateTime={entry.at ?? undefined}>{entry.at ? when(entry.at) : "–"}</time>
              <StatusBadge status={entry.status} secondary={entry.secondary_status} />
              {lasted !== null && <span class="lasted">{next ? "for" : "for now"} {duration(lasted)}</span>}
              {entry.detail && <span class="detail">{entry.detail}</span>}
            </li>
          );
        })}
      </ol>
    </Section>
  );
}

function Curves({ id, finished }: { id: string; finished: boolean }) {
  const metrics = usePoll(() => get<JobMetrics>(`/jobs/${id}/metrics`), [id, finished], finished ? 0 : 4000);
  const names = Object.keys(metrics.data?.steps ?? {}).sort();
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const shown = names.filter((n) => !hidden.has(n));
  const steps = metrics.data?.steps ?? {};
  const { x, series } = useMemo(() => {
    const longest = Math.max(0, ...shown.map((n) => steps[n].length));
    return {
      x: Array.from({ length: longest }, (_, i) => i + 1),
      series: shown.map((n) => ({ label: n, values: Array.from({ length: longest }, (_, i) => steps[n][i] ?? null) })),
    };
  }, [metrics.data, hidden]);
  return (
    <Section title="Metrics" id="metrics">
      <Problem error={metrics.error} />
      {!metrics.data && !metrics.error && <Loading what="metrics" />}
      {metrics.data && !names.length && (
        <p class="empty">
          {finished ? "This job reported no metric values (its metric_definitions name none, or none matched its log)."
                    : "No metric values yet."}
        </p>
      )}
      {names.length > 0 && (
        <>
          <fieldset class="series-picker">
            <legend>Show</legend>
            {names.map((n) => (
              <label key={n}>
                <input type="checkbox" checked={!hidden.has(n)} onChange={() => {
                  const next = new Set(hidden);
                  if (next.has(n)) next.delete(n); else next.add(n);
                  setHidden(next);
                }} />
                {n}
              </label>
            ))}
          </fieldset>
          <p class="hint">Drag across the chart to zoom; double-click to zoom out.</p>
          <Chart kind="line" x={x} series={series} xLabel="step" title={`metric curves: ${shown.join(", ")}`} />
        </>
      )}
    </Section>
  );
}

function Logs({ id, finished }: { id: string; finished: boolean }) {
  const [lines, setLines] = useState<LogPage["events"]>([]);
  const [error, setError] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);
  const finishedRef = useRef(finished);
  finishedRef.current = finished;
  useEffect(() => {
    let live = true;
    let token: string | undefined;
    let timer: number | undefined;
    let quietAfterEnd = 0;
    setLines([]);
    const read = async () => {
      try {
        for (;;) { // drain what is there, then wait for more
          const page: LogPage = await get<LogPage>(`/jobs/${id}/logs`, { next_token: token, limit: 500 });
          if (!live) return;
          token = page.next_token;
          if (page.events.length) setLines((old) => [...old, ...page.events].slice(-5000));
          setError(null);
          if (page.events.length < 500) {
            quietAfterEnd = finishedRef.current && !page.events.length ? quietAfterEnd + 1 : 0;
            break;
          }
        }
      } catch (caught) {
        if (live) setError(asApiError(caught).message);
      }
      if (live && quietAfterEnd < 2) timer = window.setTimeout(read, 2000);
    };
    read();
    return () => { live = false; window.clearTimeout(timer); };
  }, [id]);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  const instances = new Set(lines.map((l) => l.instance)).size;
  return (
    <Section title="Logs" id="logs">
      <div class="log-bar">
        {!finished && <label><input type="checkbox" checked={follow} onChange={() => setFollow(!follow)} /> Follow</label>}
        <span aria-live="polite" class="log-count">{lines.length} {lines.length === 1 ? "line" : "lines"}</span>
      </div>
      {error && <p class="problem" role="alert">{error}</p>}
      <pre class="log" ref={box} tabIndex={0} aria-label="log lines" data-lines={lines.length}>
        {lines.length
          ? lines.map((l) => `${clock(l.timestamp)} ${instances > 1 ? `[${l.instance}] ` : ""}${l.message}`).join("\n")
          : finished ? "No log lines." : "Waiting for log lines…"}
      </pre>
    </Section>
  );
}

function Report({ job, finished }: { job: JobStatus; finished: boolean }) {
  const artifacts = usePoll(
    () => (finished ? get<JobArtifacts>(`/jobs/${job.id}/artifacts`) : Promise.resolve(null)), [job.id, finished]);
  const report = job.report;
  const spent = report?.estimated_cost_usd ?? null;
  const ceiling = job.cost_ceiling_usd ?? null;
  if (!report && !ceiling) return null;
  const metrics = Object.entries(report?.final_metrics ?? {});
  return (
    <Section title="Report" id="report">
      <Facts items={[
        ["Billable time", duration(report?.billable_seconds)],
        ["Training time", duration(report?.training_seconds)],
        ["Cost", usd(spent)],
        ["Cost ceiling", usd(ceiling)],
        ["Spot saving", report?.spot_saving_usd ? usd(report.spot_saving_usd) : null],
        ["Price", job.price ? `${usd(job.price.usd_per_hour)} an hour (${job.price.source})` : null],
      ]} />
      {spent !== null && ceiling ? (
        <div class="meter-row">
          <Meter value={spent} max={ceiling} label="cost against the ceiling" />
          <span>{Math.round((100 * spent) / ceiling)}% of the cost ceiling</span>
        </div>
      ) : null}
      {metrics.length > 0 && (
        <table class="compact">
          <caption>Final metrics</caption>
          <tbody>
            {metrics.map(([name, value]) => <tr key={name}><th scope="row">{name}</th><td class="num">{value}</td></tr>)}
          </tbody>
        </table>
      )}
      {artifacts.data && (
        <ul class="artifacts">
          {artifacts.data.model && <li><a href={artifacts.data.model.url}>model.tar.gz</a> ({artifacts.data.model.size} bytes) <code>{artifacts.data.model.uri}</code></li>}
          {artifacts.data.output && <li><a href={artifacts.data.output.url}>output.tar.gz</a> ({artifacts.data.output.size} bytes)</li>}
        </ul>
      )}
      {report?.model_artifacts_uri && !artifacts.data?.model && <p><code>{report.model_artifacts_uri}</code></p>}
    </Section>
  );
}
