// The chat of one session as plain data and a pure reducer: UI components render it, the
// WebSocket feeds it events, and the tests drive it without a browser.

import {
  parseContradicted,
  parseSource,
  parseUnsupported,
  type Contradiction,
  type FinalEvent,
  type Mode,
  type ServerEvent,
  type Source,
} from "../protocol";

export type Rating = "up" | "down";

export interface Feedback {
  rating: Rating;
  comment: string;
}

export type TurnStatus = "waiting" | "streaming" | "done" | "error";

export interface Turn {
  /** Client-side key: stable from the moment the question is sent. */
  key: string;
  /** The server's id for the turn (the stored assistant message), once an event named it. */
  messageId: string | null;
  question: string;
  mode: Mode;
  models: string[];
  status: TurnStatus;
  /** Streamed text per model, in the order the models first spoke. */
  streams: { model: string; text: string }[];
  sources: Source[];
  final: FinalEvent | null;
  error: { code: string; message: string } | null;
  feedback: Feedback | null;
}

export interface ChatState {
  sessionId: string | null;
  turns: Turn[];
  /** Errors that belong to no turn (e.g. a frame the server could not parse). */
  notices: { code: string; message: string }[];
}

export type ChatAction =
  | { type: "send"; key: string; question: string; mode: Mode; models: string[] }
  | { type: "event"; event: ServerEvent }
  | { type: "connectionLost" }
  | { type: "newChat" }
  | { type: "loadSession"; sessionId: string; messages: StoredMessage[] }
  | { type: "feedback"; messageId: string; feedback: Feedback }
  | { type: "clearNotices" };

export interface StoredMessage {
  id: string;
  role: "user" | "assistant" | string;
  content: string;
  details?: Record<string, unknown> | null;
  createdAt?: string | null;
  /** The caller's rating of an answer (docs/protocol.md, REST API), or null. */
  feedback?: Feedback | null;
}

export const emptyChat: ChatState = { sessionId: null, turns: [], notices: [] };

export const isActive = (t: Turn): boolean => t.status === "waiting" || t.status === "streaming";

function update(state: ChatState, index: number, patch: Partial<Turn>): ChatState {
  const turns = state.turns.slice();
  turns[index] = { ...turns[index], ...patch };
  return { ...state, turns };
}

/** The turn an event belongs to: by messageId, else the oldest turn still waiting for its id. */
function findTurn(state: ChatState, messageId: string | null): number {
  if (messageId) {
    const i = state.turns.findIndex((t) => t.messageId === messageId);
    if (i >= 0) return i;
  }
  return state.turns.findIndex((t) => t.messageId === null && isActive(t));
}

function applyEvent(state: ChatState, event: ServerEvent): ChatState {
  if (event.type === "heartbeat") return state;
  const index = findTurn(state, event.messageId);
  if (index < 0) {
    if (event.type === "error") {
      return { ...state, notices: [...state.notices, { code: event.code, message: event.message }] };
    }
    return state; // a late event of a turn we no longer show
  }
  const turn = state.turns[index];
  const sessionId = state.sessionId ?? event.sessionId;
  const base: Partial<Turn> = { messageId: turn.messageId ?? event.messageId };
  const next = (patch: Partial<Turn>) => ({ ...update(state, index, { ...base, ...patch }), sessionId });
  switch (event.type) {
    case "sources":
      return next({ sources: event.sources, status: turn.status === "waiting" ? "streaming" : turn.status });
    case "token": {
      const streams = turn.streams.slice();
      const at = streams.findIndex((s) => s.model === event.model);
      if (at >= 0) streams[at] = { model: event.model, text: streams[at].text + event.text };
      else streams.push({ model: event.model, text: event.text });
      return next({ streams, status: "streaming" });
    }
    case "final":
      return next({ final: event, status: "done", error: null });
    case "error":
      return next({ error: { code: event.code, message: event.message }, status: "error" });
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "send":
      return {
        ...state,
        turns: [
          ...state.turns,
          {
            key: action.key,
            messageId: null,
            question: action.question,
            mode: action.mode,
            models: action.models,
            status: "waiting",
            streams: [],
            sources: [],
            final: null,
            error: null,
            feedback: null,
          },
        ],
      };
    case "event":
      return applyEvent(state, action.event);
    case "connectionLost":
      if (!state.turns.some(isActive)) return state;
      return {
        ...state,
        turns: state.turns.map((t) =>
          isActive(t)
            ? {
                ...t,
                status: "error",
                error: {
                  code: "connection_lost",
                  message: "The connection dropped before the answer arrived.",
                },
              }
            : t,
        ),
      };
    case "newChat":
      return emptyChat;
    case "loadSession":
      return { sessionId: action.sessionId, turns: turnsFromHistory(action.messages), notices: [] };
    case "feedback": {
      const i = state.turns.findIndex((t) => t.messageId === action.messageId);
      return i < 0 ? state : update(state, i, { feedback: action.feedback });
    }
    case "clearNotices":
      return state.notices.length === 0 ? state : { ...state, notices: [] };
  }
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Stored messages (GET /api/sessions/{id}) → turns, so history renders like a live chat. */
export function turnsFromHistory(messages: StoredMessage[]): Turn[] {
  const turns: Turn[] = [];
  let open: Turn | null = null;
  for (const m of messages) {
    const details = obj(m.details);
    if (m.role === "user") {
      open = {
        key: m.id,
        messageId: m.id.endsWith("-q") ? m.id.slice(0, -2) : null,
        question: m.content,
        mode: (typeof details.mode === "string" ? details.mode : "single") as Mode,
        models: [],
        status: "error",
        streams: [],
        sources: [],
        final: null,
        error: { code: "connection_lost", message: "No answer was stored for this question." },
        feedback: null,
      };
      turns.push(open);
      continue;
    }
    if (m.role !== "assistant") continue;
    if (!open || (open.messageId && open.messageId !== m.id)) {
      open = {
        key: m.id,
        messageId: m.id,
        question: "",
        mode: "single",
        models: [],
        status: "done",
        streams: [],
        sources: [],
        final: null,
        error: null,
        feedback: null,
      };
      turns.push(open);
    }
    const model = typeof details.model === "string" ? details.model : "";
    const sources = Array.isArray(details.sources) ? details.sources.map(parseSource) : [];
    const fb = obj(m.feedback);
    const feedback: Feedback | null =
      fb.rating === "up" || fb.rating === "down"
        ? { rating: fb.rating, comment: typeof fb.comment === "string" ? fb.comment : "" }
        : null;
    const err = obj(details.error);
    open.messageId = m.id;
    open.sources = sources;
    open.feedback = feedback;
    open.models = model ? [model] : [];
    if (err.code) {
      open.status = "error";
      open.error = { code: String(err.code), message: String(err.message ?? "") };
    } else {
      const usage = obj(details.usage);
      const answers = Array.isArray(details.answers)
        ? details.answers.map((a) => {
            const x = obj(a);
            return { model: String(x.model ?? ""), text: String(x.text ?? ""), cost: num(x.cost) };
          })
        : [{ model, text: m.content, cost: num(details.cost) }];
      const latency: Record<string, number | null> = {};
      for (const [k, v] of Object.entries(obj(details.latencyMs))) latency[k] = numOrNull(v);
      open.status = "done";
      open.error = null;
      open.streams = [{ model, text: m.content }];
      open.final = {
        type: "final",
        sessionId: null,
        messageId: m.id,
        answer: m.content,
        model,
        mode: typeof details.mode === "string" ? details.mode : open.mode,
        answers,
        agreement: numOrNull(details.agreement),
        grounding: numOrNull(obj(details.grounding).score ?? details.grounding),
        unsupported: parseUnsupported(details.unsupported),
        contradicted: parseContradicted(details.contradicted),
        relevance: numOrNull(details.relevance),
        covered: details.covered !== false,
        usage: { inputTokens: num(usage.inputTokens), outputTokens: num(usage.outputTokens) },
        cost: num(details.cost),
        latencyMs: latency,
        cached: details.cached === true,
      };
    }
    open = null;
  }
  return turns;
}

export interface AnswerPart {
  text: string;
  unsupported: boolean;
  citation: number | null;
  /** Set on text a source contradicts (shown apart from unsupported text). */
  contradiction?: Contradiction;
}

/** Splits an answer into plain text, `[n]` citations and sentences the grounding check flagged:
 * unsupported ones, and contradicted ones with the source sentence that says otherwise. */
export function answerParts(
  answer: string,
  unsupported: { text: string }[] = [],
  contradicted: Contradiction[] = [],
): AnswerPart[] {
  const marks: [number, number][] = [];
  for (const u of unsupported) {
    const needle = u.text.trim();
    if (!needle) continue;
    const at = answer.indexOf(needle);
    if (at >= 0) marks.push([at, at + needle.length]);
  }
  const contradictions: [number, number, Contradiction][] = [];
  for (const c of contradicted) {
    const needle = c.text.trim();
    const at = needle ? answer.indexOf(needle) : -1;
    if (at >= 0) contradictions.push([at, at + needle.length, c]);
  }
  marks.sort((a, b) => a[0] - b[0]);
  const flagged = (i: number) => marks.some(([s, e]) => i >= s && i < e);
  const contradictionAt = (i: number) => contradictions.find(([s, e]) => i >= s && i < e)?.[2];
  const parts: AnswerPart[] = [];
  const re = /\[(\d{1,3})\]/g;
  const boundaries = new Set<number>([0, answer.length]);
  for (const [s, e] of [...marks, ...contradictions]) {
    boundaries.add(s);
    boundaries.add(e);
  }
  let m: RegExpExecArray | null;
  const cites: { start: number; end: number; n: number }[] = [];
  while ((m = re.exec(answer))) {
    cites.push({ start: m.index, end: m.index + m[0].length, n: Number(m[1]) });
    boundaries.add(m.index);
    boundaries.add(m.index + m[0].length);
  }
  const points = [...boundaries].filter((p) => p >= 0 && p <= answer.length).sort((a, b) => a - b);
  for (let i = 0; i < points.length - 1; i++) {
    const [s, e] = [points[i], points[i + 1]];
    if (s === e) continue;
    const cite = cites.find((c) => c.start === s && c.end === e);
    const part: AnswerPart = { text: answer.slice(s, e), unsupported: flagged(s), citation: cite ? cite.n : null };
    const contradiction = contradictionAt(s);
    if (contradiction && !cite) part.contradiction = contradiction;
    const last = parts[parts.length - 1];
    if (
      last &&
      !cite &&
      last.citation === null &&
      last.unsupported === part.unsupported &&
      last.contradiction === part.contradiction
    )
      last.text += part.text;
    else parts.push(part);
  }
  return parts;
}

export function formatCost(usd: number): string {
  if (!usd) return "$0";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
