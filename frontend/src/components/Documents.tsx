import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient, ChorusDocument, Workspace } from "../api";
import { wideScreen } from "./layout";
import { isReadOnly, readOnlyNote } from "./readOnly";

const ACCEPT = ".txt,.md,.markdown,.html,.htm,.pdf,.docx,.csv,.json,.jsonl";
const POLL_MS = 1500;

interface Upload {
  name: string;
  loaded: number;
  total: number;
  phase: "uploading" | "indexing";
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const count = (n: number) => n.toLocaleString("en-US");

/** The line under a document's name: chunks (or embedding progress), size, failure reason. */
export function documentMeta(d: ChorusDocument): string {
  const parts: string[] = [];
  const chunks = d.chunks;
  if (d.status === "indexed" && chunks !== undefined) parts.push(`${count(chunks)} chunk${chunks === 1 ? "" : "s"}`);
  if (d.status === "processing" && d.progress) {
    parts.push(`${count(d.progress.embedded)} / ${count(d.progress.total)} chunks embedded`);
  }
  parts.push(size(d.sizeBytes));
  if (d.status === "failed" && d.error) parts.push(d.error);
  return parts.join(" · ");
}

/** The workspace's documents: upload with progress, live status (polled), delete. `version`
 * reloads the list (bumped when a web source added or synced pages). */
export function Documents(p: {
  api: ApiClient;
  workspace: Workspace | null;
  version?: number;
  onError: (e: unknown, context?: string) => void;
}) {
  const [documents, setDocuments] = useState<ChorusDocument[] | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const workspaceId = p.workspace?.id ?? null;
  const { api, onError, version } = p;

  const refresh = useCallback(async () => {
    if (!workspaceId) {
      setDocuments(null);
      return;
    }
    try {
      setDocuments(await api.listDocuments(workspaceId));
    } catch (error) {
      onError(error, "Loading documents");
    }
  }, [api, workspaceId, onError]);

  useEffect(() => setDocuments(null), [workspaceId]);

  useEffect(() => {
    void refresh();
  }, [refresh, version]);

  // Live status: poll while anything is uploading, queued or processing.
  const pending = uploads.length > 0 || (documents ?? []).some((d) => d.status === "queued" || d.status === "processing");
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [pending, refresh]);

  async function upload(files: FileList | null) {
    if (!files || !workspaceId) return;
    for (const file of Array.from(files)) {
      setUploads((u) => [...u, { name: file.name, loaded: 0, total: file.size, phase: "uploading" }]);
      const patch = (x: Partial<Upload>) => setUploads((u) => u.map((y) => (y.name === file.name ? { ...y, ...x } : y)));
      try {
        await api.uploadDocument(workspaceId, file, (loaded, total) =>
          patch({ loaded, total, phase: loaded >= total ? "indexing" : "uploading" }),
        );
      } catch (error) {
        onError(error, `Uploading ${file.name}`);
      } finally {
        setUploads((u) => u.filter((y) => y.name !== file.name));
        void refresh();
      }
    }
    if (input.current) input.current.value = "";
  }

  async function remove(doc: ChorusDocument) {
    if (!workspaceId || !window.confirm(`Remove “${doc.name}” and its chunks from this workspace?`)) return;
    try {
      await api.deleteDocument(workspaceId, doc.id);
    } catch (error) {
      onError(error, `Removing ${doc.name}`);
    }
    void refresh();
  }

  return (
    <details className="panel" open={wideScreen()}>
      <summary>
        <h2>
          Documents <span className="count">{documents ? `(${documents.length})` : ""}</span>
        </h2>
      </summary>
      {p.workspace && isReadOnly(p.workspace) ? (
        <p className="muted read-only">{readOnlyNote(p.workspace)}</p>
      ) : (
        <div className="upload">
          <label className={`button wide${workspaceId ? "" : " disabled"}`} htmlFor="upload">
            Upload files…
          </label>
          <input
            id="upload"
            ref={input}
            type="file"
            multiple
            accept={ACCEPT}
            disabled={!workspaceId}
            onChange={(e) => void upload(e.target.files)}
          />
        </div>
      )}
      {uploads.map((u) => (
        <div key={u.name} className="progress" role="status">
          <span>
            {u.phase === "uploading" ? "Uploading" : "Indexing"} {u.name}
          </span>
          <progress
            max={u.total || 1}
            value={u.phase === "indexing" ? undefined : u.loaded}
            aria-label={`Upload of ${u.name}`}
          />
        </div>
      ))}
      <ul className="documents" aria-label="Documents" aria-busy={documents === null}>
        {workspaceId && documents?.length === 0 && uploads.length === 0 && (
          <li className="muted">{isReadOnly(p.workspace) ? "The knowledge base keeps its documents; chorus lists none." : "No documents yet: upload some."}</li>
        )}
        {documents?.map((d) => (
          <li key={d.id} data-status={d.status}>
            <span className="name" title={d.name}>
              {d.name}
            </span>
            <span className={`status ${d.status}`} title={d.error ?? undefined}>
              {d.status}
            </span>
            <button type="button" className="icon" aria-label={`Remove ${d.name}`} onClick={() => void remove(d)}>
              ×
            </button>
            <span className="meta">{documentMeta(d)}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
