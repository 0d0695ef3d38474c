// Trainforge's console: a static page over the public REST API (the one docs/openapi.json describes), served
// by local mode at /console and by `trainforge console` beside a deployed API.
import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { get } from "./api";
import type { Caller } from "./api";
import { BuildsPage } from "./pages/builds";
import { JobPage } from "./pages/job";
import { JobsPage } from "./pages/jobs";
import { QueuePage } from "./pages/queue";
import { TeamsPage } from "./pages/teams";
import { TuningJobPage, TuningListPage } from "./pages/tuning";
import { Problem } from "./parts";
import { href, useRoute } from "./router";
import { usePoll } from "./util";

const SECTIONS = [
  ["jobs", "Jobs"],
  ["queue", "Queue"],
  ["teams", "Teams"],
  ["tuning", "Tuning"],
  ["builds", "Builds"],
] as const;

function App() {
  const route = useRoute();
  const caller = usePoll(() => get<Caller>("/me"), []);
  const [section = "jobs", id] = route.parts;
  const titled = SECTIONS.find(([key]) => key === section)?.[1] ?? "Not found";
  document.title = `${id ? `${titled} ${id}` : titled} · Trainforge`;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href("/jobs")}>Trainforge</a>
        <nav aria-label="Sections">
          {SECTIONS.map(([key, label]) => (
            <a key={key} href={href(`/${key}`)} aria-current={section === key ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        {caller.data && (
          <span class="caller" title={caller.data.principal}>
            {caller.data.admin ? "administrator" : `team ${caller.data.team}`}
          </span>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Problem error={caller.error} />
        {!caller.error && page(section, id, route.params, caller.data)}
      </main>
    </>
  );
}

// Pages start their own calls at once, beside GET /me: what the caller may see, the API already decides; the
// caller only adds the administrators' controls once it is known.
function page(section: string, id: string | undefined, params: URLSearchParams, caller: Caller | null) {
  switch (section) {
    case "jobs":
      return id ? <JobPage key={id} id={id} /> : <JobsPage params={params} caller={caller} />;
    case "queue":
      return <QueuePage />;
    case "teams":
      return <TeamsPage caller={caller} />;
    case "tuning":
      return id ? <TuningJobPage key={id} id={id} /> : <TuningListPage />;
    case "builds":
      return <BuildsPage params={params} />;
    default:
      return <p>No page here. <a href={href("/jobs")}>Go to the jobs.</a></p>;
  }
}

render(<App />, document.getElementById("app")!);
