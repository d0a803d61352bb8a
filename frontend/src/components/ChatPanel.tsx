import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { Workspace } from "../api";
import type { Turn } from "../chat/state";
import type { AppConfig } from "../config";
import { MAX_QUESTION_CHARS, type Mode } from "../protocol";
import { TurnView, type MarkCase } from "./TurnView";

interface Props {
  config: AppConfig;
  turns: Turn[];
  workspace: Workspace | null;
  connected: boolean;
  busy: boolean;
  mode: Mode;
  models: string[];
  onMode: (m: Mode) => void;
  onModels: (m: string[]) => void;
  onAsk: (question: string) => void;
  onFeedback: (messageId: string, rating: "up" | "down", comment: string) => Promise<void>;
  onMarkCase?: MarkCase;
  onNewChat: () => void;
}

const MODE_LABEL: Record<Mode, string> = {
  single: "Single model",
  cascade: "Cascade",
  consensus: "Consensus",
};

export function ChatPanel(p: Props) {
  const [question, setQuestion] = useState("");
  const log = useRef<HTMLOListElement>(null);
  const multi = p.mode !== "single";
  const canSend = p.connected && !p.busy && !!p.workspace && question.trim().length > 0;

  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [p.turns]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    if (!canSend) return;
    p.onAsk(question.trim());
    setQuestion("");
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  function toggleModel(model: string, on: boolean) {
    const next = on ? [...p.models, model] : p.models.filter((m) => m !== model);
    p.onModels(next.length ? next : [model]);
  }

  const hint = !p.workspace
    ? "Create or choose a workspace first."
    : !p.connected
      ? "Waiting for the connection…"
      : p.busy
        ? "Answering…"
        : "Enter sends, Shift+Enter adds a line.";

  return (
    <section className="chat" aria-labelledby="chat-title">
      <div className="chat-head">
        <h2 id="chat-title">Chat</h2>
        <label>
          Mode
          <select value={p.mode} onChange={(e) => p.onMode(e.target.value as Mode)} disabled={p.config.modes.length < 2}>
            {p.config.modes.map((m) => (
              <option key={m} value={m}>
                {MODE_LABEL[m]}
              </option>
            ))}
          </select>
        </label>
        {!multi ? (
          <label>
            Model
            <select id="model" value={p.models[0] ?? ""} onChange={(e) => p.onModels([e.target.value])}>
              {p.config.models.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
        ) : (
          <fieldset className="models">
            <legend>Models</legend>
            {p.config.models.map((m) => (
              <label key={m} className="check">
                <input type="checkbox" checked={p.models.includes(m)} onChange={(e) => toggleModel(m, e.target.checked)} />
                {m}
              </label>
            ))}
          </fieldset>
        )}
        <button type="button" onClick={p.onNewChat}>
          New chat
        </button>
      </div>
      <ol ref={log} className="log" role="log" aria-live="polite" aria-relevant="additions" aria-label="Conversation">
        {p.turns.length === 0 && (
          <li className="empty">
            <p>
              Ask a question about the documents in <strong>{p.workspace?.name ?? "a workspace"}</strong>.
            </p>
            <p className="muted">Answers stream in with their sources; rate each one with thumbs up or down.</p>
          </li>
        )}
        {p.turns.map((t) => (
          <TurnView key={t.key} turn={t} onFeedback={p.onFeedback} onMarkCase={p.onMarkCase} />
        ))}
      </ol>
      <form className="composer" onSubmit={submit}>
        <label htmlFor="question" className="visually-hidden">
          Your question
        </label>
        <textarea
          id="question"
          rows={2}
          maxLength={MAX_QUESTION_CHARS}
          placeholder="Ask about your documents…"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={onKey}
          aria-describedby="composer-hint"
        />
        <button type="submit" className="primary" disabled={!canSend}>
          Send
        </button>
        <span id="composer-hint" className="hint muted">
          {hint}
        </span>
      </form>
    </section>
  );
}
