// Container builds (CodeBuild): status, phase, the image, and the build's log.
import { get } from "../api";
import type { BuildPage } from "../api";
import { Loading, Problem, StatusBadge } from "../parts";
import { href } from "../router";
import { age, usePoll } from "../util";

export function BuildsPage({ params }: { params: URLSearchParams }) {
  const cursor = params.get("cursor") ?? "";
  const page = usePoll(() => get<BuildPage>("/builds", { cursor, limit: 50 }), [cursor], 5000);
  return (
    <div>
      <h1>Builds</h1>
      <Problem error={page.error} />
      {!page.data && !page.error && <Loading what="builds" />}
      {page.data && !page.data.builds.length && <p class="empty">No builds yet (<code>trainforge build</code>).</p>}
      {page.data && page.data.builds.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Status</th><th scope="col">Build</th><th scope="col" class="wide-only">Phase</th><th scope="col" class="wide-only">Image</th><th scope="col" class="wide-only">Team</th><th scope="col">Age</th><th scope="col">Log</th></tr></thead>
            <tbody>
              {page.data.builds.map((b) => (
                <tr key={b.id}>
                  <td><StatusBadge status={b.status} /></td>
                  <td><code>{b.build_id}</code>{b.failure_reason ? <div class="detail">{b.failure_reason}</div> : null}</td>
                  <td class="wide-only">{b.current_phase ?? "–"}</td>
                  <td class="wide-only"><code class="wrap">{b.image_uri ?? "–"}</code></td>
                  <td class="wide-only">{b.team ?? "–"}</td>
                  <td><time dateTime={b.created_at ?? undefined}>{age(b.created_at)}</time></td>
                  <td><BuildLog url={b.log_url} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.data?.next_cursor && <nav class="pager" aria-label="Pages"><a href={href("/builds", { cursor: page.data.next_cursor })}>Older →</a></nav>}
    </div>
  );
}

function BuildLog({ url }: { url: string | null | undefined }) {
  if (!url) return <>–</>;
  // local mode's builds log to a folder on this machine, which a page served over http may not open
  if (url.startsWith("file://")) return <code class="wrap" title="on this machine">{url.slice("file://".length)}</code>;
  return <a href={url} target="_blank" rel="noopener noreferrer">build log</a>;
}
