import { type FormEvent, useEffect, useState } from "react";
import type { ApiClient, ContentOutcome, NewContent, Workspace } from "../api";
import { ApiError } from "../errors";
import { KindPicker } from "./KindPicker";
import { wideScreen } from "./layout";
import { isReadOnly, READ_ONLY_SHORT } from "./readOnly";
import { type ShownError, shownError } from "./Sources";

/** The limits of `AddSource` and `QAPairBody` (runtime/application/requests.py). */
export const LIMITS = { name: 200, question: 2000, answer: 20000 };
/** The REST API refuses a request body over 64 KiB (`413 payload_too_large`). */
export const MAX_BODY_BYTES = 64 * 1024;
/** After a queued add (the cloud), the Documents panel is reloaded this often, this many times. */
export const POLL_MS = 3000;
export const MAX_POLLS = 20;

export type ContentKind = "text" | "qa";

export interface ContentForm {
  kind: ContentKind;
  name: string;
  text: string;
  question: string;
  answer: string;
}

/** The size of the JSON body the API receives, in bytes (UTF-8). */
export function bodyBytes(content: NewContent): number {
  return new TextEncoder().encode(JSON.stringify(content)).length;
}

function tooLong(what: string, value: string, max: number): string | null {
  return value.length > max ? `${what} is ${value.length.toLocaleString("en-US")} characters; the limit is ${max.toLocaleString("en-US")}.` : null;
}

/** The request body for the form, or the problem to show (the server checks again). */
export function readContentForm(form: ContentForm): { content: NewContent } | { problem: string } {
  let content: NewContent;
  if (form.kind === "text") {
    const name = form.name.trim();
    if (!name) return { problem: "Give the text a title: it becomes the document's name." };
    if (!form.text.trim()) return { problem: "The text is empty: type or paste the text to index." };
    const long = tooLong("The title", name, LIMITS.name);
    if (long) return { problem: long };
    content = { kind: "text", name, text: form.text };
  } else {
    const question = form.question.trim();
    const answer = form.answer.trim();
    if (!question) return { problem: "The question is empty." };
    if (!answer) return { problem: "The answer is empty." };
    const long = tooLong("The question", question, LIMITS.question) ?? tooLong("The answer", answer, LIMITS.answer);
    if (long) return { problem: long };
    content = { kind: "qa", pairs: [{ question, answer }] };
  }
  const bytes = bodyBytes(content);
  if (bytes > MAX_BODY_BYTES) {
    return {
      problem: `This is ${Math.ceil(bytes / 1024)} KiB; one request takes at most ${MAX_BODY_BYTES / 1024} KiB. Split it, or upload it as a file.`,
    };
  }
  return { content };
}

/** What adding did to one document, in one line. */
export function outcomeSummary(o: ContentOutcome): string {
  switch (o.outcome) {
    case "indexed":
      return `${o.name}: indexed, ${o.chunks} chunk${o.chunks === 1 ? "" : "s"}`;
    case "unchanged":
      return `${o.name}: unchanged (the same text is already indexed)`;
    case "queued":
      return `${o.name}: queued, indexed in the background`;
    case "failed":
      return `${o.name}: failed${o.reason ? ` (${o.reason})` : ""}`;
    default:
      return `${o.name}: ${o.outcome}${o.reason ? ` (${o.reason})` : ""}`;
  }
}

/** Errors of this form: the API reports an empty text or pair as code `bad_url` (a source
 * error), which is about the form here, not an address. */
export function contentError(error: unknown): ShownError {
  const shown = shownError(error);
  if (shown.code === "bad_url") return { ...shown, title: "Check the form", hint: "" };
  return shown;
}

const EMPTY: ContentForm = { kind: "qa", name: "", text: "", question: "", answer: "" };

/** Typed-in sources of the workspace: a plain text (title + body) or a Q&A pair (indexed so a
 * question worded like it finds the pair). Each becomes a document, listed with its status in
 * the Documents panel; `onChanged` reloads it (repeatedly while the cloud's worker indexes). */
export function TextSources(p: {
  api: ApiClient;
  workspace: Workspace | null;
  onChanged: () => void;
  onError: (e: unknown, context?: string) => void;
}) {
  const [form, setForm] = useState<ContentForm>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ShownError | null>(null);
  const [outcomes, setOutcomes] = useState<ContentOutcome[]>([]);
  const [polls, setPolls] = useState(MAX_POLLS);
  const workspaceId = p.workspace?.id ?? null;
  const { api, onChanged, onError } = p;

  useEffect(() => {
    setProblem(null);
    setOutcomes([]);
    setPolls(MAX_POLLS);
  }, [workspaceId]);

  // Queued in the cloud: the worker creates the documents a little later; keep the list fresh.
  useEffect(() => {
    if (polls >= MAX_POLLS) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      onChanged();
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [polls, onChanged]);

  async function add(event: FormEvent) {
    event.preventDefault();
    if (!workspaceId || busy) return;
    const read = readContentForm(form);
    if ("problem" in read) {
      setProblem({ code: "bad_request", title: "Check the form", message: read.problem, hint: "" });
      return;
    }
    setBusy(true);
    setProblem(null);
    setOutcomes([]);
    try {
      const done = await api.addContent(workspaceId, read.content);
      setOutcomes(done);
      if (!done.some((o) => o.outcome === "failed")) setForm((f) => ({ ...EMPTY, kind: f.kind }));
      if (done.some((o) => o.outcome === "queued")) setPolls(0);
    } catch (error) {
      if (error instanceof ApiError && (error.code === "unauthorized" || error.code === "http_401")) onError(error);
      else setProblem(contentError(error));
    } finally {
      setBusy(false);
      onChanged();
    }
  }

  if (!p.workspace) return null;
  const qa = form.kind === "qa";
  return (
    <details className="panel web-sources text-sources" open={wideScreen()}>
      <summary>
        <h2>Text and Q&amp;A</h2>
      </summary>
      <div role="region" aria-label="Text and Q&A">
        {isReadOnly(p.workspace) ? (
          <p className="muted read-only">{READ_ONLY_SHORT}</p>
        ) : (
          <>
            <form className="add-source" onSubmit={add} aria-label="Add a text or Q&A pair">
              <KindPicker
                name="content-kind"
                kinds={["qa", "text"] as const}
                label={(k) => (k === "qa" ? "a Q&A pair" : "a text")}
                value={form.kind}
                onChange={(k) => {
                  setForm((f) => ({ ...f, kind: k }));
                  setProblem(null);
                }}
              />
              {qa ? (
                <>
                  <label htmlFor="qa-question">Question</label>
                  <input
                    id="qa-question"
                    autoComplete="off"
                    maxLength={LIMITS.question}
                    value={form.question}
                    onChange={(e) => setForm((f) => ({ ...f, question: e.target.value }))}
                  />
                  <label htmlFor="qa-answer">Answer</label>
                  <textarea
                    id="qa-answer"
                    rows={4}
                    maxLength={LIMITS.answer}
                    value={form.answer}
                    onChange={(e) => setForm((f) => ({ ...f, answer: e.target.value }))}
                  />
                </>
              ) : (
                <>
                  <label htmlFor="text-name">Title</label>
                  <input
                    id="text-name"
                    autoComplete="off"
                    maxLength={LIMITS.name}
                    value={form.name}
                    onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))}
                  />
                  <label htmlFor="text-body">Text</label>
                  <textarea
                    id="text-body"
                    rows={6}
                    value={form.text}
                    onChange={(e) => setForm((f) => ({ ...f, text: e.target.value }))}
                  />
                </>
              )}
              <div className="source-actions">
                <button type="submit" disabled={busy}>
                  {qa ? "Add Q&A pair" : "Add text"}
                </button>
              </div>
            </form>
            <p className="muted" role="status">
              {busy ? "Indexing…" : polls < MAX_POLLS ? "Waiting for the worker to index it…" : ""}
            </p>
            {problem && (
              <div className="error-text source-error" role="alert" data-code={problem.code}>
                <strong>{problem.title}</strong>: {problem.message}
                {problem.hint && <span className="muted"> {problem.hint}</span>}
              </div>
            )}
            {outcomes.length > 0 && (
              <ul className="sources-list" aria-label="Added">
                {outcomes.map((o) => (
                  <li key={`${o.documentId ?? ""} ${o.name}`} data-status={o.outcome}>
                    <span className="url">{outcomeSummary(o)}</span>
                    <span className={`status ${o.outcome}`}>{o.outcome}</span>
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
