import { useState, type FormEvent } from "react";
import type { KnowledgeBaseSearchType, NewWorkspace, Workspace } from "../api";
import type { AppConfig } from "../config";
import type { ConnectionStatus } from "../socket";

interface Props {
  config: AppConfig;
  workspaces: Workspace[] | null;
  workspaceId: string | null;
  user: string;
  connection: ConnectionStatus;
  connectionText: string;
  onChoose: (id: string) => void;
  onCreate: (w: NewWorkspace) => Promise<void>;
  onDelete: (w: Workspace) => Promise<void>;
  onError: (error: unknown, context?: string) => void;
  onSignOut: () => void;
}

export function WorkspaceBar(p: Props) {
  const [creating, setCreating] = useState(false);
  const current = p.workspaces?.find((w) => w.id === p.workspaceId) ?? null;
  return (
    <header className="bar">
      <h1 className="brand">
        <span className="logo" aria-hidden="true" />
        chorus
      </h1>
      <div className="bar-group">
        <label htmlFor="workspace">Workspace</label>
        <select
          id="workspace"
          value={p.workspaceId ?? ""}
          disabled={!p.workspaces || p.workspaces.length === 0}
          onChange={(e) => p.onChoose(e.target.value)}
        >
          {!p.workspaces && <option value="">loading…</option>}
          {p.workspaces?.length === 0 && <option value="">no workspace yet</option>}
          {p.workspaces?.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <button type="button" aria-expanded={creating} aria-controls="workspace-form" onClick={() => setCreating((c) => !c)}>
          New
        </button>
        <button
          type="button"
          disabled={!current}
          aria-label={current ? `Delete workspace ${current.name}` : "Delete workspace"}
          onClick={async () => {
            if (!current) return;
            if (!window.confirm(`Delete workspace “${current.name}” with all its documents?`)) return;
            await p.onDelete(current).catch((e) => p.onError(e, "Deleting the workspace"));
          }}
        >
          Delete
        </button>
      </div>
      <span className={`pill ${p.connection}`} role="status" aria-live="polite" data-testid="connection">
        {p.connectionText}
      </span>
      <span className="user">
        <span className="muted">{p.user}</span>
        <button type="button" onClick={p.onSignOut}>
          Sign out
        </button>
      </span>
      {creating && (
        <NewWorkspaceForm
          config={p.config}
          onCancel={() => setCreating(false)}
          onCreate={async (w) => {
            await p.onCreate(w);
            setCreating(false);
          }}
          onError={p.onError}
        />
      )}
    </header>
  );
}

/** What the new-workspace form holds (strings as typed). */
export interface WorkspaceForm {
  name: string;
  chunkSize: number;
  chunkOverlap: number;
  embeddingModel: string;
  store: string;
  knowledgeBase: boolean;
  knowledgeBaseId: string;
  knowledgeBaseSearchType: "" | KnowledgeBaseSearchType;
}

/** A Bedrock knowledge base id: 10 upper-case letters and digits (as `CreateWorkspace` checks). */
export const KNOWLEDGE_BASE_ID = /^[0-9A-Z]{10}$/;

/** Knowledge base workspaces exist in the cloud only (the stack grants `bedrock:Retrieve` on
 * its `chorus:knowledgeBases`); a local server has none to point at. */
export function offersKnowledgeBases(config: AppConfig): boolean {
  return config.mode === "cloud" || config.stores.includes("knowledgebase");
}

/** The `POST /workspaces` body, or the problem to show (the server checks again). A knowledge
 * base workspace sends only its name, id and search type: chunking, embeddings and the store
 * are the knowledge base's own. */
export function readWorkspaceForm(form: WorkspaceForm, config: AppConfig): { body: NewWorkspace } | { problem: string } {
  const name = form.name.trim();
  if (!name) return { problem: "Give the workspace a name." };
  if (form.knowledgeBase) {
    const id = form.knowledgeBaseId.trim().toUpperCase();
    if (!KNOWLEDGE_BASE_ID.test(id)) {
      return { problem: "A knowledge base id is 10 upper-case letters and digits, as the Bedrock console shows it." };
    }
    const body: NewWorkspace = { name, knowledgeBaseId: id };
    if (form.knowledgeBaseSearchType) body.knowledgeBaseSearchType = form.knowledgeBaseSearchType;
    return { body };
  }
  if (form.chunkOverlap >= form.chunkSize) return { problem: "Overlap must be smaller than the chunk size." };
  const body: NewWorkspace = { name, chunkSize: form.chunkSize, chunkOverlap: form.chunkOverlap };
  if (form.embeddingModel && config.embeddingModels.length > 1) body.embeddingModel = form.embeddingModel;
  const stores = config.stores.filter((x) => x !== "knowledgebase");
  if (form.store && stores.length > 1) body.store = form.store;
  return { body };
}

function NewWorkspaceForm(p: {
  config: AppConfig;
  onCreate: (w: NewWorkspace) => Promise<void>;
  onCancel: () => void;
  onError: (error: unknown, context?: string) => void;
}) {
  const [form, setForm] = useState<WorkspaceForm>({
    name: "",
    chunkSize: 1000,
    chunkOverlap: 200,
    embeddingModel: p.config.embeddingModels[0] ?? "",
    store: p.config.stores.filter((x) => x !== "knowledgebase")[0] ?? "",
    knowledgeBase: false,
    knowledgeBaseId: "",
    knowledgeBaseSearchType: "",
  });
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<WorkspaceForm>) => setForm((f) => ({ ...f, ...change }));
  const read = readWorkspaceForm(form, p.config);
  const overlapOk = form.knowledgeBase || form.chunkOverlap < form.chunkSize;
  const kbIdOk = !form.knowledgeBase || form.knowledgeBaseId === "" || KNOWLEDGE_BASE_ID.test(form.knowledgeBaseId.trim().toUpperCase());
  const stores = p.config.stores.filter((x) => x !== "knowledgebase");

  async function submit(e: FormEvent) {
    e.preventDefault();
    if ("problem" in read) return;
    setBusy(true);
    await p.onCreate(read.body).catch((err) => p.onError(err, "Creating the workspace"));
    setBusy(false);
  }

  return (
    <form id="workspace-form" className="inline-form" onSubmit={submit} aria-label="New workspace">
      <label>
        Name
        <input required autoFocus maxLength={100} value={form.name} onChange={(e) => set({ name: e.target.value })} autoComplete="off" />
      </label>
      {offersKnowledgeBases(p.config) && (
        <label className="check">
          <input type="checkbox" checked={form.knowledgeBase} onChange={(e) => set({ knowledgeBase: e.target.checked })} /> Bedrock
          knowledge base
        </label>
      )}
      {form.knowledgeBase ? (
        <>
          <label>
            Knowledge base id
            <input
              required
              maxLength={10}
              placeholder="ABCDE12345"
              autoComplete="off"
              spellCheck={false}
              value={form.knowledgeBaseId}
              aria-invalid={!kbIdOk}
              onChange={(e) => set({ knowledgeBaseId: e.target.value.toUpperCase() })}
            />
          </label>
          <label>
            Search type
            <select
              value={form.knowledgeBaseSearchType}
              onChange={(e) => set({ knowledgeBaseSearchType: e.target.value as WorkspaceForm["knowledgeBaseSearchType"] })}
            >
              <option value="">knowledge base default</option>
              <option value="HYBRID">HYBRID</option>
              <option value="SEMANTIC">SEMANTIC</option>
            </select>
          </label>
          <span className="muted kb-note">
            Read-only: chorus retrieves from the knowledge base, which indexes its own data sources; uploads and sources are
            off in this workspace.
          </span>
          {!kbIdOk && <span className="error-text">The id is 10 upper-case letters and digits.</span>}
        </>
      ) : (
        <>
          <label>
            Embedding model
            <select value={form.embeddingModel} onChange={(e) => set({ embeddingModel: e.target.value })} disabled={p.config.embeddingModels.length < 2}>
              {p.config.embeddingModels.length === 0 && <option value="">server default</option>}
              {p.config.embeddingModels.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Store
            <select value={form.store} onChange={(e) => set({ store: e.target.value })} disabled={stores.length < 2}>
              {stores.length === 0 && <option value="">server default</option>}
              {stores.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Chunk size
            <input type="number" min={50} max={8000} step={50} value={form.chunkSize} onChange={(e) => set({ chunkSize: Number(e.target.value) })} />
          </label>
          <label>
            Overlap
            <input
              type="number"
              min={0}
              max={4000}
              step={50}
              value={form.chunkOverlap}
              aria-invalid={!overlapOk}
              onChange={(e) => set({ chunkOverlap: Number(e.target.value) })}
            />
          </label>
          {!overlapOk && <span className="error-text">Overlap must be smaller than the chunk size.</span>}
        </>
      )}
      <span className="actions">
        <button type="submit" className="primary" disabled={busy || "problem" in read}>
          Create
        </button>
        <button type="button" onClick={p.onCancel}>
          Cancel
        </button>
      </span>
    </form>
  );
}
