// The public REST API, typed by the OpenAPI document the API generates (src/api-types.ts is made from
// docs/openapi.json at build time): a field the API renames fails `npm run check`, not a user's page.
import type { components, paths } from "./api-types";

type Schemas = components["schemas"];
export type Job = Schemas["Job"];
export type JobStatus = Schemas["JobStatus"];
export type JobPage = Schemas["JobPage"];
export type HistoryEntry = Schemas["HistoryEntry"];
export type LogPage = Schemas["LogPage"];
export type JobMetrics = Schemas["JobMetrics"];
export type JobArtifacts = Schemas["JobArtifacts"];
export type CancelResponse = Schemas["CancelResponse"];
export type PoolList = Schemas["PoolList"];
export type Team = Schemas["Team"];
export type TeamList = Schemas["TeamList"];
export type TeamUsage = Schemas["TeamUsage"];
export type TuningJob = Schemas["TuningJob"];
export type TuningJobStatus = Schemas["TuningJobStatus"];
export type TuningPage = Schemas["TuningPage"];
export type Trial = Schemas["Trial"];
export type Build = Schemas["Build"];
export type BuildPage = Schemas["BuildPage"];
export type Caller = Schemas["Caller"];
export type Health = Schemas["Health"];
type ErrorResponse = Schemas["ErrorResponse"];

// The job statuses the list can filter by, checked against the API's enumeration of its `status` parameter.
type StatusFilter = NonNullable<NonNullable<paths["/jobs"]["get"]["parameters"]["query"]>["status"]>;
export const JOB_STATUSES: readonly StatusFilter[] = [
  "Pending", "WaitingForCapacity", "InProgress", "Stopping", "Completed", "Failed", "Stopped", "Rejected",
];
export const FINISHED: ReadonlySet<string> = new Set(["Completed", "Failed", "Stopped", "Rejected"]);

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

type Query = Record<string, string | number | null | undefined>;

// Every call carries X-Trainforge-Console: `trainforge console` signs only requests that do, and a browser
// sends a custom header to another origin only after a preflight that the proxy never approves, so a page
// elsewhere cannot make the proxy sign for it.
export async function call<T>(method: "GET" | "POST", path: string, query: Query = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const url = path + (params.size ? `?${params}` : "");
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { Accept: "application/json", "X-Trainforge-Console": "1",
                 ...(method === "POST" ? { "Content-Type": "application/json" } : {}) },
      body: method === "POST" ? "{}" : undefined,
    });
  } catch {
    throw new ApiError(0, "unreachable", "The API could not be reached. Is local mode (or trainforge console) running?");
  }
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = (body as ErrorResponse | null)?.error;
    throw new ApiError(response.status, detail?.code ?? "error", detail?.message ?? `${response.status} ${response.statusText}`);
  }
  return body as T;
}

export const get = <T>(path: string, query: Query = {}) => call<T>("GET", path, query);
export const post = <T>(path: string) => call<T>("POST", path);
