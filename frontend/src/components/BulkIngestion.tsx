import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { ApiClient, BulkCounts, BulkJob, Workspace } from "../api";
import { ApiError } from "../errors";
import { wideScreen } from "./layout";
import { isReadOnly, READ_ONLY_SHORT } from "./readOnly";
import { type ShownError, shownError } from "./Sources";

/** The first wait between progress checks, the factor it grows by while nothing changes, and
 * its cap: a large prefix runs for hours, so an idle job is checked twice a minute at most. */
export const POLL = { firstMs: 2000, factor: 2, maxMs: 30_000 };

/** Same rule as the server's `S3Source.parse` (runtime/cloud/bulk_ingest.py). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_URI = 1100;

/** `{uri}` for the request, or the problem to show (the server checks again). */
export function readBulkUri(text: string): { uri: string } | { problem: string } {
  const uri = text.trim();
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) return { problem: "Write the S3 location as s3://bucket/prefix/." };
  if (!BUCKET.test(match[1])) {
    return { problem: `“${match[1]}” is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens).` };
  }
  if (uri.length > MAX_URI) return { problem: `The location is ${uri.length} characters; the limit is ${MAX_URI}.` };
  return { uri };
}

/** A job is done once the workflow's last step set `succeeded` or `failed`. */
export function bulkFinished(job: BulkJob): boolean {
  return job.status !== "running";
}

const STATUSES = ["ingested", "unchanged", "skipped", "failed"] as const;
const num = (n: number) => n.toLocaleString("en-US");

/** Objects handled so far (every status). */
export function objectsSeen(counts: BulkCounts): number {
  return STATUSES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}

/** One line of progress: objects by status, chunks, batches. */
export function bulkSummary(job: BulkJob): string {
  const c = job.counts;
  const statuses = STATUSES.map((s) => `${num(c[s] ?? 0)} ${s}`).join(", ");
  const batches = `${num(job.batches)} batch${job.batches === 1 ? "" : "es"}`;
  return `${num(objectsSeen(c))} objects: ${statuses} · ${num(c.chunks ?? 0)} chunks · ${batches}`;
}

/** Whether a check brought news (counts, batches or status moved). */
export function progressed(before: BulkJob | null, after: BulkJob): boolean {
  if (!before) return true;
  if (before.status !== after.status || before.batches !== after.batches) return true;
  return [...STATUSES, "chunks" as const].some((s) => (before.counts[s] ?? 0) !== (after.counts[s] ?? 0));
}

/** The wait before the next check: back to the first wait after news, else longer, capped. */
export function nextPollDelay(previousMs: number | null, changed: boolean): number {
  if (previousMs === null || changed) return POLL.firstMs;
  return Math.min(POLL.maxMs, Math.round(previousMs * POLL.factor));
}

/** Where the panel remembers the last job of a workspace (the API has no list of jobs). */
export const jobKey = (workspaceId: string) => `chorus.bulkJob.${workspaceId}`;

const BULK_HINTS: Record<string, string> = {
  not_deployed: "On a laptop, run chorus ingest FOLDER -w WORKSPACE; against a cloud stack, enable chorus:bulkIngestion.",
  forbidden: "Bulk ingestion is for admins and workspace managers.",
};

/** An error of this panel, with hints that fit bulk ingestion. */
export function bulkError(error: unknown): ShownError {
  const shown = shownError(error);
  const hint = BULK_HINTS[shown.code];
  return hint ? { ...shown, hint } : shown;
}

/** Bulk ingestion of an S3 prefix for admins and workspace managers: start it, then watch the
 * counts per status, checking with backoff until the job finishes. The last job of each
 * workspace is remembered in the browser, so a reload picks its progress up again. */
export function BulkIngestion(p: {
  api: ApiClient;
  workspace: Workspace | null;
  mode: "local" | "cloud";
  onChanged: () => void;
  onError: (e: unknown, context?: string) => void;
}) {
  const [uri, setUri] = useState("");
  const [job, setJob] = useState<BulkJob | null>(null);
  const [delay, setDelay] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const workspaceId = p.workspace?.id ?? null;
  const { api, onChanged, onError } = p;

  const fail = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && (error.code === "unauthorized" || error.code === "http_401")) onError(error);
      else setProblem(bulkError(error));
    },
    [onError],
  );

  const check = useCallback(
    async (jobId: string, previous: BulkJob | null, waited: number | null) => {
      if (!workspaceId) return;
      try {
        const next = await api.getBulkIngestion(workspaceId, jobId);
        const changed = progressed(previous, next);
        setJob(next);
        setProblem(null);
        if (changed) onChanged();
        setDelay(bulkFinished(next) ? null : nextPollDelay(waited, changed));
      } catch (error) {
        setDelay(null);
        if (error instanceof ApiError && error.status === 404) localStorage.removeItem(jobKey(workspaceId));
        fail(error);
      }
    },
    [api, workspaceId, onChanged, fail],
  );

  // A workspace's remembered job: read its progress once, then keep polling if it still runs.
  useEffect(() => {
    setJob(null);
    setDelay(null);
    setProblem(null);
    if (!workspaceId) return;
    const remembered = localStorage.getItem(jobKey(workspaceId));
    if (remembered) void check(remembered, null, null);
  }, [workspaceId, check]);

  useEffect(() => {
    if (delay === null || !job) return;
    const timer = setTimeout(() => void check(job.jobId, job, delay), delay);
    return () => clearTimeout(timer);
  }, [delay, job, check]);

  async function start(event: FormEvent) {
    event.preventDefault();
    if (!workspaceId || busy) return;
    const read = readBulkUri(uri);
    if ("problem" in read) {
      setProblem({ code: "bad_request", title: "Check the location", message: read.problem, hint: "" });
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const started = await api.startBulkIngestion(workspaceId, read.uri);
      localStorage.setItem(jobKey(workspaceId), started.jobId);
      setJob(started);
      setDelay(bulkFinished(started) ? null : POLL.firstMs);
      setUri("");
    } catch (error) {
      fail(error);
    } finally {
      setBusy(false);
    }
  }

  if (!p.workspace) return null;
  const running = job !== null && !bulkFinished(job);
  return (
    <details className="panel web-sources bulk" open={wideScreen() && p.mode === "cloud"}>
      <summary>
        <h2>Bulk ingestion</h2>
      </summary>
      <div role="region" aria-label="Bulk ingestion">
        {isReadOnly(p.workspace) ? (
          <p className="muted read-only">{READ_ONLY_SHORT}</p>
        ) : (
          <>
            <p className="muted">
              {p.mode === "cloud"
                ? "Ingest every object under an S3 prefix (admins and workspace managers). Unchanged objects are skipped on a re-run."
                : "The bulk workflow runs in the cloud; on this laptop, chorus ingest FOLDER -w WORKSPACE does the same from a folder."}
            </p>
            <form className="add-source" onSubmit={start} aria-label="Start a bulk ingestion">
              <label htmlFor="bulk-uri">S3 location</label>
              <input
                id="bulk-uri"
                autoComplete="off"
                spellCheck={false}
                placeholder="s3://bucket/prefix/"
                value={uri}
                onChange={(e) => setUri(e.target.value)}
              />
              <div className="source-actions">
                <button type="submit" disabled={busy || running}>
                  Start
                </button>
                {job && delay === null && (
                  <button type="button" onClick={() => void check(job.jobId, job, null)}>
                    Check progress
                  </button>
                )}
              </div>
            </form>
            {problem && (
              <div className="error-text source-error" role="alert" data-code={problem.code}>
                <strong>{problem.title}</strong>: {problem.message}
                {problem.hint && <span className="muted"> {problem.hint}</span>}
              </div>
            )}
            {job && (
              <div className="bulk-job" data-status={job.status}>
                <p>
                  <span className="url" title={job.jobId}>
                    {job.source}
                  </span>{" "}
                  <span className={`status ${job.status}`}>{job.status}</span>
                </p>
                <p className="meta" role="status">
                  {bulkSummary(job)}
                </p>
                <dl className="bulk-counts">
                  {STATUSES.map((s) => (
                    <div key={s}>
                      <dt>{s}</dt>
                      <dd>{num(job.counts[s] ?? 0)}</dd>
                    </div>
                  ))}
                </dl>
                {job.error && <p className="error-text meta">{job.error}</p>}
                <p className="meta muted">
                  {running
                    ? `Checking again in ${Math.round((delay ?? POLL.firstMs) / 1000)} s.`
                    : job.finishedAt
                      ? `Finished ${new Date(job.finishedAt).toLocaleString()}.`
                      : ""}
                </p>
              </div>
            )}
          </>
        )}
      </div>
    </details>
  );
}
