import type { SessionSummary, Workspace } from "../api";
import { wideScreen } from "./layout";

interface Props {
  sessions: SessionSummary[];
  currentId: string | null;
  workspaces: Workspace[];
  onOpen: (s: SessionSummary) => void;
  onDelete: (s: SessionSummary) => void;
  onNew: () => void;
}

function when(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

export function Sessions({ sessions, currentId, workspaces, onOpen, onDelete, onNew }: Props) {
  const names = new Map(workspaces.map((w) => [w.id, w.name]));
  return (
    <details className="panel" open={wideScreen()}>
      <summary>
        <h2>
          Chats <span className="count">({sessions.length})</span>
        </h2>
      </summary>
      <button type="button" className="wide" onClick={onNew}>
        + New chat
      </button>
      <ul className="sessions" aria-label="Chat history">
        {sessions.length === 0 && <li className="muted">No chats yet.</li>}
        {sessions.map((s) => (
          <li key={s.id} className={s.id === currentId ? "current" : undefined}>
            <button
              type="button"
              className="session-open"
              aria-current={s.id === currentId ? "true" : undefined}
              onClick={() => onOpen(s)}
              title={s.title}
            >
              <span className="title">{s.title || "(untitled)"}</span>
              <span className="meta">
                {names.get(s.workspaceId) ?? s.workspaceId} · {when(s.updatedAt)}
              </span>
            </button>
            <button type="button" className="icon" aria-label={`Delete chat ${s.title}`} onClick={() => onDelete(s)}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}
