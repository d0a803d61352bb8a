import { useState, type FormEvent } from "react";
import type { NewWorkspace, Workspace } from "../api";
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

function NewWorkspaceForm(p: {
  config: AppConfig;
  onCreate: (w: NewWorkspace) => Promise<void>;
  onCancel: () => void;
  onError: (error: unknown, context?: string) => void;
}) {
  const [name, setName] = useState("");
  const [chunkSize, setChunkSize] = useState(1000);
  const [chunkOverlap, setChunkOverlap] = useState(200);
  const [embeddingModel, setEmbeddingModel] = useState(p.config.embeddingModels[0] ?? "");
  const [store, setStore] = useState(p.config.stores[0] ?? "");
  const [busy, setBusy] = useState(false);
  const overlapOk = chunkOverlap < chunkSize;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!overlapOk) return;
    setBusy(true);
    const body: NewWorkspace = { name: name.trim(), chunkSize, chunkOverlap };
    if (embeddingModel && p.config.embeddingModels.length > 1) body.embeddingModel = embeddingModel;
    if (store && p.config.stores.length > 1) body.store = store;
    await p.onCreate(body).catch((err) => p.onError(err, "Creating the workspace"));
    setBusy(false);
  }

  return (
    <form id="workspace-form" className="inline-form" onSubmit={submit} aria-label="New workspace">
      <label>
        Name
        <input required autoFocus maxLength={100} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
      </label>
      <label>
        Embedding model
        <select value={embeddingModel} onChange={(e) => setEmbeddingModel(e.target.value)} disabled={p.config.embeddingModels.length < 2}>
          {p.config.embeddingModels.length === 0 && <option value="">server default</option>}
          {p.config.embeddingModels.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label>
        Store
        <select value={store} onChange={(e) => setStore(e.target.value)} disabled={p.config.stores.length < 2}>
          {p.config.stores.length === 0 && <option value="">server default</option>}
          {p.config.stores.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Chunk size
        <input type="number" min={50} max={8000} step={50} value={chunkSize} onChange={(e) => setChunkSize(Number(e.target.value))} />
      </label>
      <label>
        Overlap
        <input
          type="number"
          min={0}
          max={4000}
          step={50}
          value={chunkOverlap}
          aria-invalid={!overlapOk}
          onChange={(e) => setChunkOverlap(Number(e.target.value))}
        />
      </label>
      {!overlapOk && <span className="error-text">Overlap must be smaller than the chunk size.</span>}
      <span className="actions">
        <button type="submit" className="primary" disabled={busy || !overlapOk}>
          Create
        </button>
        <button type="button" onClick={p.onCancel}>
          Cancel
        </button>
      </span>
    </form>
  );
}
