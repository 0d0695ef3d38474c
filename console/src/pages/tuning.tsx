// Tuning jobs: the list, and one job's trials best first with the objective against each hyperparameter.
import { get } from "../api";
import type { Trial, TuningJobStatus, TuningPage } from "../api";
import { Chart } from "../lazy-chart";
import { Facts, Loading, Problem, Section, StatusBadge } from "../parts";
import { href } from "../router";
import { age, duration, secondsSince, usePoll, when } from "../util";

export function TuningListPage() {
  const page = usePoll(() => get<TuningPage>("/tuning-jobs", { limit: 100 }), [], 10000);
  return (
    <div>
      <h1>Tuning jobs</h1>
      <Problem error={page.error} />
      {!page.data && !page.error && <Loading what="tuning jobs" />}
      {page.data && !page.data.tuning_jobs.length && <p class="empty">No tuning jobs yet (<code>trainforge tune</code>).</p>}
      {page.data && page.data.tuning_jobs.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Status</th><th scope="col">Tuning job</th><th scope="col">Team</th><th scope="col">Objective</th><th scope="col" class="num">Best</th><th scope="col">Trials</th><th scope="col">Age</th></tr></thead>
            <tbody>
              {page.data.tuning_jobs.map((t) => (
                <tr key={t.id}>
                  <td><StatusBadge status={t.status} /></td>
                  <td><a href={href(`/tuning/${t.id}`)}>{t.tuning_job_name}</a></td>
                  <td>{t.team ?? "–"}</td>
                  <td>{t.objective_type} {t.objective_metric}</td>
                  <td class="num">{t.best_objective_value ?? "–"}</td>
                  <td>{Object.entries(t.training_counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(", ") || "–"}</td>
                  <td><time dateTime={t.created_at}>{age(t.created_at)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function bestFirst(trials: Trial[], objectiveType: string): Trial[] {
  const sign = objectiveType === "Maximize" ? -1 : 1;
  return [...trials].sort((a, b) => {
    if (a.objective_value === null || a.objective_value === undefined) return 1;
    if (b.objective_value === null || b.objective_value === undefined) return -1;
    return sign * (a.objective_value - b.objective_value);
  });
}

export function TuningJobPage({ id }: { id: string }) {
  const tuning = usePoll(() => get<TuningJobStatus>(`/tuning-jobs/${id}`), [id], 5000);
  if (tuning.error && !tuning.data) return <div><h1>Tuning job {id}</h1><Problem error={tuning.error} /></div>;
  if (!tuning.data) return <Loading what="the tuning job" />;
  const t = tuning.data;
  const trials = bestFirst(t.trials, t.objective_type);
  const best = trials.find((trial) => trial.objective_value !== null && trial.objective_value !== undefined);
  const parameters = [...new Set(t.trials.flatMap((trial) => Object.keys(trial.hyperparameters)))].sort();
  // the tuned ones: a hyperparameter every trial had the same value of explains nothing
  const tuned = parameters.filter((p) => new Set(t.trials.map((trial) => String(trial.hyperparameters[p]))).size > 1);
  return (
    <div>
      <p class="crumbs"><a href={href("/tuning")}>Tuning jobs</a> /</p>
      <div class="title-row"><h1>{t.tuning_job_name}</h1><StatusBadge status={t.status} /></div>
      <Problem error={tuning.error} />
      <Facts items={[
        ["Objective", `${t.objective_type} ${t.objective_metric}`],
        ["Best", best ? `${best.objective_value} (${best.job_name})` : null],
        ["Strategy", t.strategy],
        ["Trials", `${t.trials.length}${t.max_jobs ? ` of ${t.max_jobs}` : ""}, ${t.max_parallel_jobs ?? "?"} at a time`],
        ["Team", t.team],
        ["Created", when(t.created_at)],
        ["Failure", t.failure_reason],
      ]} />
      {tuned.length > 0 && best && (
        <Section title="Objective against each hyperparameter" id="objective">
          <div class="charts">
            {tuned.map((name) => <ParameterChart key={name} name={name} trials={t.trials} best={best} objective={t.objective_metric} />)}
          </div>
        </Section>
      )}
      <Section title="Trials, best first" id="trials">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Status</th><th scope="col">Training job</th><th scope="col" class="num">{t.objective_metric}</th>
                {parameters.map((p) => <th scope="col" key={p}>{p}</th>)}<th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {trials.map((trial) => (
                <tr key={trial.id} class={trial === best ? "best" : ""}>
                  <td><StatusBadge status={trial.status} secondary={trial.secondary_status} /></td>
                  <td><a href={href("/jobs", { name: trial.job_name })}>{trial.job_name}</a>{trial === best ? <strong> (best)</strong> : null}</td>
                  <td class="num">{trial.objective_value ?? "–"}</td>
                  {parameters.map((p) => <td key={p}>{String(trial.hyperparameters[p] ?? "–")}</td>)}
                  <td>{trial.created_at ? duration(secondsSince(trial.created_at, trial.ended_at)) : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </div>
  );
}

function ParameterChart({ name, trials, best, objective }: { name: string; trials: Trial[]; best: Trial; objective: string }) {
  const scored = trials.filter((t) => t.objective_value !== null && t.objective_value !== undefined && name in t.hyperparameters);
  const raw = scored.map((t) => String(t.hyperparameters[name]));
  const numeric = raw.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  const categories = numeric ? [] : [...new Set(raw)].sort();
  const xOf = (t: Trial) => (numeric ? Number(t.hyperparameters[name]) : categories.indexOf(String(t.hyperparameters[name])));
  const sorted = [...scored].sort((a, b) => xOf(a) - xOf(b)); // uPlot wants x ascending
  return (
    <figure>
      <figcaption>{objective} against {name}</figcaption>
      <Chart kind="points" x={sorted.map(xOf)} xNames={numeric ? undefined : categories} xLabel={name} yLabel={objective}
             series={[
               { label: "trial", values: sorted.map((t) => (t === best ? null : t.objective_value ?? null)) },
               { label: "best", values: sorted.map((t) => (t === best ? t.objective_value ?? null : null)), color: "#dc2626", pointSize: 14 },
             ]}
             height={220} title={`${objective} against ${name}, best trial highlighted`} />
    </figure>
  );
}
