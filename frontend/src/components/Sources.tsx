import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { ApiClient, NewSource, SourceKind, SourceReport, WebSource, Workspace } from "../api";
import { ApiError, describeError } from "../errors";
import { KindPicker } from "./KindPicker";
import { wideScreen } from "./layout";
import { isReadOnly, READ_ONLY_SHORT } from "./readOnly";

/** How often the list is re-read while a source is `queued` (the cloud's sync worker fetches it). */
export const POLL_MS = 3000;
/** Checks before the panel stops polling and offers "Check again" (about two minutes). */
export const MAX_POLLS = 40;

/** The limits of `AddSource` (runtime/application/requests.py): checked here to say it sooner. */
const DEPTH = { min: 0, max: 10 };
const MAX_PAGES = { min: 1, max: 1000 };

/** "3 min ago" for a sync at `syncedAt` (Unix seconds) seen at `now` (Unix seconds). */
export function syncedAgo(syncedAt: number, now: number): string {
  const seconds = Math.max(0, Math.round(now - syncedAt));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86400);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

/** The line under a source's URL: its limits, pages recorded (cloud), its last sync. */
export function sourceMeta(s: WebSource, now: number): string {
  const parts: string[] = [s.kind];
  if (s.kind === "site") parts.push(`depth ${s.depth}`, `up to ${s.maxPages} pages`);
  if (s.pages !== undefined) parts.push(`${s.pages} page${s.pages === 1 ? "" : "s"} recorded`);
  parts.push(s.syncedAt === null ? "never synced" : `synced ${syncedAgo(s.syncedAt, now)}`);
  return parts.join(" · ");
}

/** What an add or sync did, in one line. */
export function reportSummary(r: SourceReport): string {
  if (r.queued) return `${r.url}: queued, fetched in the background`;
  const parts = [`${r.fetched} fetched`, `${r.indexed} indexed`, `${r.unchanged} unchanged`];
  if (r.failed.length) parts.push(`${r.failed.length} failed`);
  if (r.skipped.length) parts.push(`${r.skipped.length} skipped`);
  return `${r.url}: ${parts.join(", ")}`;
}

export interface SourceForm {
  kind: SourceKind;
  url: string;
  depth: string;
  maxPages: string;
}

function whole(text: string, name: string, range: { min: number; max: number }): number | string | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < range.min || n > range.max) return `${name} must be a whole number from ${range.min} to ${range.max}.`;
  return n;
}

/** The request body for the form, or the problem to show (the server checks again). */
export function readSourceForm(form: SourceForm): { source: NewSource } | { problem: string } {
  const url = form.url.trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: "Enter a full web address, starting with https:// or http://." };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { problem: "Only http:// and https:// addresses can be fetched." };
  }
  if (form.kind === "feed") return { source: { kind: "feed", url } };
  const depth = whole(form.depth, "Depth", DEPTH);
  if (typeof depth === "string") return { problem: depth };
  const maxPages = whole(form.maxPages, "Max pages", MAX_PAGES);
  if (typeof maxPages === "string") return { problem: maxPages };
  const source: NewSource = { kind: "site", url };
  if (depth !== undefined) source.depth = depth;
  if (maxPages !== undefined) source.maxPages = maxPages;
  return { source };
}

/** Poll again while a source is queued, up to `MAX_POLLS` checks since the last add or sync. */
export function shouldPoll(sources: WebSource[] | null, polls: number): boolean {
  return polls < MAX_POLLS && (sources ?? []).some((s) => s.status === "queued");
}

export interface ShownError {
  code: string;
  title: string;
  message: string;
  hint: string;
}

/** An error for the panel itself: the code's title and hint with the server's own message. */
export function shownError(error: unknown): ShownError {
  const code = error instanceof ApiError ? error.code : "network_error";
  const info = describeError(code);
  const message = error instanceof Error ? error.message : String(error);
  return { code, title: info.title, message, hint: info.hint };
}

const EMPTY_FORM: SourceForm = { kind: "site", url: "", depth: "", maxPages: "" };
const nowSeconds = () => Date.now() / 1000;

/** The workspace's web sources: the list with each one's status, add a site or feed, sync
 * now. Adding fetches locally before it answers, so the panel says so while it waits; in the
 * cloud the source comes back `queued` and the list is polled until the worker is done.
 * `onChanged` tells the app that pages became documents. */
export function Sources(p: {
  api: ApiClient;
  workspace: Workspace | null;
  onChanged: () => void;
  onError: (e: unknown, context?: string) => void;
}) {
  const [sources, setSources] = useState<WebSource[] | null>(null);
  const [unavailable, setUnavailable] = useState<ShownError | null>(null);
  const [form, setForm] = useState<SourceForm>(EMPTY_FORM);
  const [busy, setBusy] = useState<"adding" | "syncing" | null>(null);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [done, setDone] = useState<string[]>([]);
  const [polls, setPolls] = useState(0);
  const workspaceId = p.workspace?.id ?? null;
  const { api, onError, onChanged } = p;

  const readOnly = isReadOnly(p.workspace);
  const refresh = useCallback(async () => {
    if (!workspaceId || readOnly) {
      setSources(null);
      return;
    }
    try {
      setSources(await api.listSources(workspaceId));
      setUnavailable(null);
    } catch (error) {
      if (error instanceof ApiError && error.code === "not_deployed") setUnavailable(shownError(error));
      else onError(error, "Loading web sources");
    }
  }, [api, workspaceId, readOnly, onError]);

  useEffect(() => {
    setSources(null);
    setProblem(null);
    setDone([]);
    setPolls(0);
    void refresh();
  }, [refresh]);

  // The cloud queues a fetch: re-read the list until nothing is queued, at most MAX_POLLS times.
  const polling = shouldPoll(sources, polls);
  useEffect(() => {
    if (!polling) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      void refresh().then(onChanged);
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [polling, polls, refresh, onChanged]);
  const stalled = !polling && polls >= MAX_POLLS && (sources ?? []).some((s) => s.status === "queued");

  async function run(what: "adding" | "syncing", call: () => Promise<SourceReport[]>) {
    setBusy(what);
    setProblem(null);
    setDone([]);
    try {
      const reports = await call();
      setDone(reports.map(reportSummary));
      if (what === "adding") setForm((f) => ({ ...EMPTY_FORM, kind: f.kind }));
    } catch (error) {
      if (error instanceof ApiError && (error.code === "unauthorized" || error.code === "http_401")) onError(error);
      else setProblem(shownError(error));
    } finally {
      setBusy(null);
      setPolls(0);
      await refresh();
      onChanged();
    }
  }

  function add(event: FormEvent) {
    event.preventDefault();
    if (!workspaceId || busy) return;
    const read = readSourceForm(form);
    if ("problem" in read) {
      setProblem({ code: "bad_url", title: "Check the form", message: read.problem, hint: "" });
      return;
    }
    void run("adding", async () => [await api.addSource(workspaceId, read.source)]);
  }

  function sync() {
    if (!workspaceId || busy) return;
    void run("syncing", () => api.syncSources(workspaceId));
  }

  if (!workspaceId) return null;
  const site = form.kind === "site";
  const now = nowSeconds();
  return (
    <details className="panel web-sources" open={wideScreen()}>
      <summary>
        <h2>
          Web sources <span className="count">{sources && !unavailable ? `(${sources.length})` : ""}</span>
        </h2>
      </summary>
      <div role="region" aria-label="Web sources">
        {p.workspace && isReadOnly(p.workspace) ? (
          <p className="muted read-only">{READ_ONLY_SHORT}</p>
        ) : unavailable ? (
          <p className="muted" data-code={unavailable.code}>
            {unavailable.message}
          </p>
        ) : (
          <>
            <form className="add-source" onSubmit={add} aria-label="Add a web source">
              <KindPicker
                name="source-kind"
                kinds={["site", "feed"] as const}
                label={(k) => (k === "site" ? "a site" : "a feed (RSS or Atom)")}
                value={form.kind}
                onChange={(k) => setForm((f) => ({ ...f, kind: k }))}
              />
              <label htmlFor="source-url">{site ? "Start page URL" : "Feed URL"}</label>
              <input
                id="source-url"
                type="url"
                required
                inputMode="url"
                placeholder="https://"
                value={form.url}
                onChange={(e) => setForm((f) => ({ ...f, url: e.target.value }))}
              />
              {site && (
                <div className="limits">
                  <label>
                    Depth
                    <input
                      type="number"
                      min={DEPTH.min}
                      max={DEPTH.max}
                      placeholder="2"
                      value={form.depth}
                      onChange={(e) => setForm((f) => ({ ...f, depth: e.target.value }))}
                    />
                  </label>
                  <label>
                    Max pages
                    <input
                      type="number"
                      min={MAX_PAGES.min}
                      max={MAX_PAGES.max}
                      placeholder="50"
                      value={form.maxPages}
                      onChange={(e) => setForm((f) => ({ ...f, maxPages: e.target.value }))}
                    />
                  </label>
                </div>
              )}
              <div className="source-actions">
                <button type="submit" disabled={busy !== null}>
                  {site ? "Add site" : "Add feed"}
                </button>
                <button type="button" onClick={sync} disabled={busy !== null || !sources?.length}>
                  Sync now
                </button>
              </div>
            </form>
            <p className="muted" role="status">
              {busy === "adding"
                ? "Fetching… a site can take a minute."
                : busy === "syncing"
                  ? "Syncing every site and feed…"
                  : polling
                    ? "Waiting for the queued fetch…"
                    : done.join("; ")}
            </p>
            {problem && (
              <div className="error-text source-error" role="alert" data-code={problem.code}>
                <strong>{problem.title}</strong>: {problem.message}
                {problem.hint && <span className="muted"> {problem.hint}</span>}
              </div>
            )}
            {stalled && (
              <p className="muted">
                Still queued after {MAX_POLLS} checks.{" "}
                <button type="button" onClick={() => setPolls(0)}>
                  Check again
                </button>
              </p>
            )}
            {sources === null ? (
              <p className="muted">Loading…</p>
            ) : sources.length === 0 ? (
              <p className="muted">No sites or feeds yet.</p>
            ) : (
              <ul className="sources-list" aria-label="Sites and feeds">
                {sources.map((s) => (
                  <li key={`${s.kind} ${s.url}`} data-status={s.status}>
                    <span className="url" title={s.url}>
                      {s.url}
                    </span>
                    <span className={`status ${s.status}`}>{s.status}</span>
                    <span
                      className="meta"
                      title={s.syncedAt === null ? undefined : new Date(s.syncedAt * 1000).toLocaleString()}
                    >
                      {sourceMeta(s, now)}
                    </span>
                    {s.status === "failed" && s.error && <span className="error-text meta">{s.error}</span>}
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
    </details>
  );
}
