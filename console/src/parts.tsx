// Small pieces every page uses: status badges, errors, loading, and key/value lists.
import type { ComponentChildren } from "preact";
import type { ApiError } from "./api";

export function StatusBadge({ status, secondary }: { status: string; secondary?: string | null }) {
  return (
    <span class={`badge status-${status}`} title={secondary ?? undefined}>
      {status}
      {secondary && secondary !== status ? <span class="secondary"> · {secondary}</span> : null}
    </span>
  );
}

export function Problem({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {error.status ? `${error.status}: ` : ""}
      {error.message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="loading" aria-live="polite">Loading {what}…</p>;
}

export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value ?? "–"}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="panel" aria-labelledby={id ? `${id}-title` : undefined} id={id}>
      <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      {children}
    </section>
  );
}

export function Meter({ value, max, label }: { value: number; max: number | null | undefined; label: string }) {
  if (!max) return null;
  const share = Math.min(value / max, 1);
  return (
    <div class={`meter ${share >= 1 ? "full" : share >= 0.8 ? "high" : ""}`} role="meter" aria-label={label}
         aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
      <div style={{ width: `${share * 100}%` }} />
    </div>
  );
}
