// Routes live in the URL's hash (#/jobs/12?status=Failed): the console is static files, so any path under
// /console/ serves the same page, and links, the back button and bookmarks work without a server route.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  parts: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?", 2);
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function href(path: string, params: Record<string, string | null | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  return `#${path}${query.size ? `?${query}` : ""}`;
}

export function navigate(path: string, params: Record<string, string | null | undefined> = {}): void {
  window.location.hash = href(path, params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
