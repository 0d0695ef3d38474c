import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  reload: () => void;
}

// Loads now, then again every `everyMs` while the tab is visible (0: once). A late answer to an earlier
// request never overwrites a newer one, and nothing is set after the page has gone.
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const shown = useRef(JSON.stringify(deps)); // what `data` answers: new deps clear it, a new tick does not
  // a layout effect: the first request leaves before the first paint, not a frame after it (and the clearing
  // happens in the same effect, never after an answer has come)
  useLayoutEffect(() => {
    const key = JSON.stringify(deps);
    if (shown.current !== key) {
      shown.current = key;
      setData(null);
      setError(null);
    }
    let live = true;
    let timer: number | undefined;
    const run = async () => {
      const mine = ++latest.current;
      try {
        const found = await load();
        if (live && mine === latest.current) {
          setData(found);
          setError(null);
        }
      } catch (caught) {
        if (live && mine === latest.current) setError(asApiError(caught));
      }
      if (live && everyMs > 0) timer = window.setTimeout(run, document.hidden ? everyMs * 4 : everyMs);
    };
    run();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

export function asApiError(caught: unknown): ApiError {
  if (caught instanceof ApiError) return caught;
  return new ApiError(0, "client", caught instanceof Error ? caught.message : String(caught));
}

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });

const cents = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 4, maximumFractionDigits: 4 });

export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (value > 0 && value < 0.0001) return "< $0.0001";
  return value > 0 && value < 1 ? cents.format(value) : money.format(value); // a short job costs fractions of a cent
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function secondsSince(iso: string | null | undefined, until?: string | null): number | null {
  if (!iso) return null;
  const end = until ? Date.parse(until) : Date.now();
  return (end - Date.parse(iso)) / 1000;
}

export function age(iso: string | null | undefined): string {
  const seconds = secondsSince(iso);
  return seconds === null ? "–" : `${duration(seconds)} ago`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}

export function clock(iso: string): string {
  return new Date(iso).toISOString().slice(11, 19);
}
