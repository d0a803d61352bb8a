// The signed-in app: workspace bar, sidebar (sessions, documents) and the chat.

import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { ApiClient, type SessionSummary, type Workspace } from "../api";
import type { AuthProvider, Session } from "../auth";
import { chatReducer, emptyChat, isActive } from "../chat/state";
import type { AppConfig } from "../config";
import { ApiError, describeError } from "../errors";
import { sendMessageFrame, type Mode, type ServerEvent } from "../protocol";
import { ChatConnection, type ConnectionState } from "../socket";
import { Banners, type Banner } from "./Banners";
import { BulkIngestion } from "./BulkIngestion";
import { ChatPanel } from "./ChatPanel";
import { Documents } from "./Documents";
import { EvalCases } from "./EvalCases";
import { Sources } from "./Sources";
import { Sessions } from "./Sessions";
import { TextSources } from "./TextSources";
import { WorkspaceBar } from "./WorkspaceBar";

interface Props {
  config: AppConfig;
  auth: AuthProvider;
  session: Session;
  onSignOut: () => void;
}

let bannerSeq = 0;

export function ChatApp({ config, auth, session, onSignOut }: Props) {
  const getToken = useCallback(async () => (await auth.current())?.token ?? session.token, [auth, session]);
  const api = useMemo(
    () => new ApiClient(config.apiUrl, getToken, config.mode === "cloud" ? "presigned" : "direct"),
    [config, getToken],
  );
  const [chat, dispatch] = useReducer(chatReducer, emptyChat);
  const [connection, setConnection] = useState<ConnectionState>({
    status: "idle",
    attempt: 0,
    retryInMs: null,
    reason: null,
  });
  const [banners, setBanners] = useState<Banner[]>([]);
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [workspaceId, setWorkspaceId] = useState<string | null>(null);
  const [evalVersion, setEvalVersion] = useState(0);
  const [documentsVersion, setDocumentsVersion] = useState(0);
  const documentsChanged = useCallback(() => setDocumentsVersion((v) => v + 1), []);
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [mode, setMode] = useState<Mode>(config.modes[0] ?? "single");
  const [models, setModels] = useState<string[]>(config.defaultModel ? [config.defaultModel] : config.models.slice(0, 1));
  const connRef = useRef<ChatConnection | null>(null);

  const report = useCallback(
    (error: unknown, context?: string) => {
      const code = error instanceof ApiError ? error.code : "network_error";
      if (code === "unauthorized" || code === "http_401") {
        onSignOut();
        return;
      }
      const message = (error as Error)?.message ?? String(error);
      setBanners((b) => [...b.slice(-3), { id: ++bannerSeq, code, message: context ? `${context}: ${message}` : message }]);
    },
    [onSignOut],
  );

  // -- the WebSocket ------------------------------------------------------------------------
  const onEvent = useCallback((event: ServerEvent) => {
    dispatch({ type: "event", event });
  }, []);

  useEffect(() => {
    const conn = new ChatConnection({
      url: config.websocketUrl,
      getToken,
      onEvent,
      onState: (state) => {
        setConnection(state);
        if (state.status === "reconnecting") dispatch({ type: "connectionLost" });
      },
      onProtocolError: (error) => report(new ApiError("bad_response", error.message)),
    });
    connRef.current = conn;
    conn.start();
    return () => conn.stop();
  }, [config.websocketUrl, getToken, onEvent, report]);

  // Errors that belong to no turn (unauthorised, malformed request) become banners.
  useEffect(() => {
    if (chat.notices.length === 0) return;
    for (const n of chat.notices) {
      if (n.code === "unauthorized") onSignOut();
      else setBanners((b) => [...b.slice(-3), { id: ++bannerSeq, code: n.code, message: n.message }]);
    }
    dispatch({ type: "clearNotices" });
  }, [chat.notices, onSignOut]);

  // -- workspaces and sessions --------------------------------------------------------------
  const loadWorkspaces = useCallback(
    async (select?: string) => {
      try {
        const list = await api.listWorkspaces();
        setWorkspaces(list);
        const wanted = [select, localStorage.getItem("chorus.workspace"), config.defaultWorkspace];
        const match = wanted.map((k) => list.find((w) => k && (w.id === k || w.name === k))).find(Boolean);
        setWorkspaceId((match ?? list[0])?.id ?? null);
      } catch (error) {
        setWorkspaces([]);
        report(error, "Loading workspaces");
      }
    },
    [api, config.defaultWorkspace, report],
  );

  const loadSessions = useCallback(async () => {
    try {
      setSessions(await api.listSessions());
    } catch (error) {
      report(error, "Loading sessions");
    }
  }, [api, report]);

  useEffect(() => {
    void loadWorkspaces();
    void loadSessions();
  }, [loadWorkspaces, loadSessions]);

  useEffect(() => {
    if (workspaceId) localStorage.setItem("chorus.workspace", workspaceId);
  }, [workspaceId]);

  // A finished turn may have created or renamed a session: refresh the list.
  const doneCount = chat.turns.filter((t) => t.status === "done" || t.status === "error").length;
  useEffect(() => {
    if (doneCount > 0) void loadSessions();
  }, [doneCount, loadSessions]);

  async function openSession(summary: SessionSummary) {
    try {
      const full = await api.getSession(summary.id);
      if (full.workspaceId && workspaces?.some((w) => w.id === full.workspaceId)) setWorkspaceId(full.workspaceId);
      dispatch({ type: "loadSession", sessionId: full.id, messages: full.messages });
    } catch (error) {
      report(error, "Opening the session");
    }
  }

  async function deleteSession(summary: SessionSummary) {
    if (!window.confirm(`Delete the chat “${summary.title || summary.id}”?`)) return;
    try {
      await api.deleteSession(summary.id);
      if (chat.sessionId === summary.id) dispatch({ type: "newChat" });
      await loadSessions();
    } catch (error) {
      report(error, "Deleting the session");
    }
  }

  function chooseWorkspace(id: string) {
    if (id === workspaceId) return;
    setWorkspaceId(id);
    dispatch({ type: "newChat" }); // a session belongs to one workspace
  }

  // -- asking -------------------------------------------------------------------------------
  const busy = chat.turns.some(isActive);
  function ask(question: string) {
    if (!workspaceId) return;
    const key = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const chosen = mode === "single" ? models.slice(0, 1) : models;
    dispatch({ type: "send", key, question, mode, models: chosen });
    connRef.current?.send(
      sendMessageFrame({ sessionId: chat.sessionId, workspaceId, text: question, mode, models: chosen }),
    );
  }

  async function feedback(messageId: string, rating: "up" | "down", comment: string) {
    if (!chat.sessionId) return;
    await api.sendFeedback(chat.sessionId, messageId, rating, comment);
    dispatch({ type: "feedback", messageId, feedback: { rating, comment } });
    setEvalVersion((v) => v + 1); // every rating feeds the eval set
  }

  async function markCase(messageId: string, correct: boolean) {
    if (!chat.sessionId) return;
    await api.markTurn(chat.sessionId, messageId, correct);
    setEvalVersion((v) => v + 1);
  }

  const workspace = workspaces?.find((w) => w.id === workspaceId) ?? null;
  const connectionText = {
    idle: "starting…",
    connecting: "connecting…",
    open: "connected",
    reconnecting: connection.retryInMs !== null ? `reconnecting in ${Math.ceil(connection.retryInMs / 1000)} s` : "reconnecting…",
    closed: "disconnected",
  }[connection.status];

  return (
    <div className="app">
      <a className="skip" href="#question">
        Skip to the question box
      </a>
      <WorkspaceBar
        config={config}
        workspaces={workspaces}
        workspaceId={workspaceId}
        user={session.user}
        connection={connection.status}
        connectionText={connectionText}
        onChoose={chooseWorkspace}
        onCreate={async (w) => {
          const created = await api.createWorkspace(w);
          await loadWorkspaces(created.id);
          dispatch({ type: "newChat" });
        }}
        onDelete={async (w) => {
          await api.deleteWorkspace(w.id);
          localStorage.removeItem("chorus.workspace");
          dispatch({ type: "newChat" });
          await loadWorkspaces();
        }}
        onError={report}
        onSignOut={onSignOut}
      />
      {connection.status === "reconnecting" && (
        <div className="banner warn" role="status">
          <strong>{describeError("connection_lost").title}.</strong>
          <span className="message">
            {connection.reason ? `${connection.reason}; ` : ""}
            {connectionText}.
          </span>
          <button type="button" onClick={() => connRef.current?.retryNow()}>
            Retry now
          </button>
        </div>
      )}
      <Banners banners={banners} onDismiss={(id) => setBanners((b) => b.filter((x) => x.id !== id))} />
      <div className="layout">
        <aside className="sidebar" aria-label="Sessions and documents">
          <Sessions
            sessions={sessions}
            currentId={chat.sessionId}
            workspaces={workspaces ?? []}
            onOpen={openSession}
            onDelete={deleteSession}
            onNew={() => dispatch({ type: "newChat" })}
          />
          <Documents api={api} workspace={workspace} version={documentsVersion} onError={report} />
          <TextSources api={api} workspace={workspace} onChanged={documentsChanged} onError={report} />
          <Sources api={api} workspace={workspace} onChanged={documentsChanged} onError={report} />
          <BulkIngestion api={api} workspace={workspace} mode={config.mode} onChanged={documentsChanged} onError={report} />
          <EvalCases api={api} workspace={workspace} version={evalVersion} onError={report} />
        </aside>
        <ChatPanel
          config={config}
          turns={chat.turns}
          workspace={workspace}
          connected={connection.status === "open"}
          busy={busy}
          mode={mode}
          models={models}
          onMode={setMode}
          onModels={setModels}
          onAsk={ask}
          onFeedback={feedback}
          onMarkCase={markCase}
          onNewChat={() => dispatch({ type: "newChat" })}
        />
      </div>
    </div>
  );
}
