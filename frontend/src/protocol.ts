// The chat protocol of docs/protocol.md: client messages and server events, parsed strictly
// enough that a malformed frame becomes a typed failure instead of a crash in the UI.

export type Mode = "single" | "cascade" | "consensus";
export const MODES: readonly Mode[] = ["single", "cascade", "consensus"];

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Source {
  n: number;
  documentId: string;
  documentName: string;
  chunkId: string;
  score: number;
  snippet: string;
}

export interface ModelAnswer {
  model: string;
  text: string;
  usage?: Usage;
  cost?: number;
  failed?: boolean;
  error?: { code: string; message: string } | null;
}

/** A sentence the grounding check found unsupported: a plain string or an object with offsets. */
export interface UnsupportedSentence {
  text: string;
  start?: number;
  end?: number;
  score?: number;
}

/** What differs between a contradicted sentence and its source sentence. */
export interface Difference {
  kind: string;
  claim: string;
  source: string;
}

/** A sentence a source contradicts: the source's number, its sentence, the differing words. */
export interface Contradiction {
  text: string;
  source: number | null;
  evidence: string;
  differences: Difference[];
}

interface EventIds {
  sessionId: string | null;
  messageId: string | null;
}

export interface SourcesEvent extends EventIds {
  type: "sources";
  sources: Source[];
}

export interface TokenEvent extends EventIds {
  type: "token";
  model: string;
  text: string;
}

export interface FinalEvent extends EventIds {
  type: "final";
  answer: string;
  model: string;
  mode: string;
  answers: ModelAnswer[];
  agreement: number | null;
  grounding: number | null;
  unsupported: UnsupportedSentence[];
  contradicted: Contradiction[];
  relevance: number | null;
  /** False when the documents do not cover the question: the sources are closest matches. */
  covered: boolean;
  usage: Usage;
  cost: number;
  latencyMs: Record<string, number | null>;
  cached: boolean;
}

export interface ErrorEvent extends EventIds {
  type: "error";
  code: string;
  message: string;
}

export interface HeartbeatEvent extends EventIds {
  type: "heartbeat";
}

export type ServerEvent = SourcesEvent | TokenEvent | FinalEvent | ErrorEvent | HeartbeatEvent;

export class ProtocolError extends Error {
  readonly code = "bad_response";
}

export interface SendMessageData {
  sessionId?: string | null;
  workspaceId: string;
  text: string;
  mode?: Mode;
  models?: string[];
  modelKwargs?: { temperature?: number; maxTokens?: number };
}

export const MAX_QUESTION_CHARS = 8000;

/** The `sendMessage` frame; drops empty optional fields (the server refuses unknown ones). */
export function sendMessageFrame(data: SendMessageData): string {
  const clean: Record<string, unknown> = {
    workspaceId: data.workspaceId,
    text: data.text.trim(),
  };
  if (data.sessionId) clean.sessionId = data.sessionId;
  if (data.mode) clean.mode = data.mode;
  if (data.models && data.models.length > 0) clean.models = data.models.slice(0, 8);
  if (data.modelKwargs && Object.keys(data.modelKwargs).length > 0) {
    clean.modelKwargs = data.modelKwargs;
  }
  return JSON.stringify({ action: "sendMessage", data: clean });
}

export function heartbeatFrame(): string {
  return JSON.stringify({ action: "heartbeat" });
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);
const num = (v: unknown, fallback = 0): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;
const numOrNull = (v: unknown): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v : null;
const idOrNull = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

function need(obj: Json, field: string, kind: "string" | "number" | "array" | "object"): void {
  const value = obj[field];
  const ok =
    kind === "array"
      ? Array.isArray(value)
      : kind === "object"
        ? isObject(value)
        : typeof value === kind;
  if (!ok) throw new ProtocolError(`${str(obj.type, "event")} event without a valid "${field}"`);
}

function usage(v: unknown): Usage {
  const u = isObject(v) ? v : {};
  return { inputTokens: num(u.inputTokens), outputTokens: num(u.outputTokens) };
}

export function parseSource(v: unknown): Source {
  if (!isObject(v)) throw new ProtocolError("a source is not an object");
  return {
    n: num(v.n),
    documentId: str(v.documentId),
    documentName: str(v.documentName, "(unnamed document)"),
    chunkId: str(v.chunkId),
    score: num(v.score),
    snippet: str(v.snippet),
  };
}

function parseAnswer(v: unknown): ModelAnswer {
  const a = isObject(v) ? v : {};
  const err = isObject(a.error) ? { code: str(a.error.code), message: str(a.error.message) } : null;
  return {
    model: str(a.model, "model"),
    text: str(a.text),
    usage: usage(a.usage),
    cost: num(a.cost),
    failed: a.failed === true || err !== null,
    error: err,
  };
}

/** `unsupported` may be absent, a list of sentences, or a list of {text|sentence, start, end}. */
export function parseUnsupported(v: unknown): UnsupportedSentence[] {
  if (!Array.isArray(v)) return [];
  const out: UnsupportedSentence[] = [];
  for (const item of v) {
    if (typeof item === "string" && item.trim()) out.push({ text: item });
    else if (isObject(item)) {
      const text = str(item.text) || str(item.sentence);
      if (!text.trim()) continue;
      const s: UnsupportedSentence = { text };
      if (typeof item.start === "number") s.start = item.start;
      if (typeof item.end === "number") s.end = item.end;
      if (typeof item.score === "number") s.score = item.score;
      out.push(s);
    }
  }
  return out;
}

/** `contradicted` may be absent or a list of {text, source, evidence, differences}. */
export function parseContradicted(v: unknown): Contradiction[] {
  if (!Array.isArray(v)) return [];
  const out: Contradiction[] = [];
  for (const item of v) {
    if (!isObject(item)) continue;
    const text = str(item.text);
    if (!text.trim()) continue;
    const differences = Array.isArray(item.differences)
      ? item.differences.filter(isObject).map((d) => ({ kind: str(d.kind), claim: str(d.claim), source: str(d.source) }))
      : [];
    out.push({ text, source: typeof item.source === "number" ? item.source : null, evidence: str(item.evidence), differences });
  }
  return out;
}

function latency(v: unknown): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) out[k] = numOrNull(x);
  return out;
}

/** The grounding score may come as a number or as {score, unsupported}. */
function grounding(v: Json): { score: number | null; unsupported: UnsupportedSentence[] } {
  const g = v.grounding;
  if (isObject(g)) {
    return {
      score: numOrNull(g.score),
      unsupported: parseUnsupported(v.unsupported ?? g.unsupported),
    };
  }
  return { score: numOrNull(g), unsupported: parseUnsupported(v.unsupported) };
}

/** One server frame → a typed event; throws ProtocolError on anything malformed. */
export function parseServerEvent(raw: string): ServerEvent {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError("the server sent a frame that is not JSON");
  }
  if (!isObject(value)) throw new ProtocolError("the server sent a frame that is not an object");
  const ids: EventIds = { sessionId: idOrNull(value.sessionId), messageId: idOrNull(value.messageId) };
  switch (value.type) {
    case "sources":
      need(value, "sources", "array");
      return { type: "sources", ...ids, sources: (value.sources as unknown[]).map(parseSource) };
    case "token":
      need(value, "text", "string");
      return { type: "token", ...ids, model: str(value.model, "model"), text: str(value.text) };
    case "final": {
      need(value, "answer", "string");
      const g = grounding(value);
      const answers = Array.isArray(value.answers) ? value.answers.map(parseAnswer) : [];
      return {
        type: "final",
        ...ids,
        answer: str(value.answer),
        model: str(value.model, answers[0]?.model ?? ""),
        mode: str(value.mode, "single"),
        answers,
        agreement: numOrNull(value.agreement),
        grounding: g.score,
        unsupported: g.unsupported,
        contradicted: parseContradicted(value.contradicted),
        relevance: numOrNull(value.relevance),
        covered: value.covered !== false,
        usage: usage(value.usage),
        cost: num(value.cost),
        latencyMs: latency(value.latencyMs),
        cached: value.cached === true,
      };
    }
    case "error":
      return {
        type: "error",
        ...ids,
        code: str(value.code, "internal_error"),
        message: str(value.message, "The server reported an error."),
      };
    case "heartbeat":
      return { type: "heartbeat", ...ids };
    default:
      throw new ProtocolError(`the server sent an unknown event type ${JSON.stringify(value.type)}`);
  }
}
