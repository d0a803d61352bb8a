// The REST API (docs/protocol.md, "REST API"): JSON in and out, errors as
// {"error": {"code", "message"}}, the caller named by `Authorization: Bearer <token>`.

import type { StoredMessage } from "./chat/state";
import { ApiError } from "./errors";

export interface Workspace {
  id: string;
  name: string;
  embeddingModel: string;
  embeddingDimension: number;
  chunkSize: number;
  chunkOverlap: number;
  store: string;
  createdAt: string | null;
  documents?: number;
  /** Set when the workspace retrieves from an existing Bedrock knowledge base (read-only). */
  knowledgeBaseId?: string;
  knowledgeBaseSearchType?: KnowledgeBaseSearchType | null;
}

export type KnowledgeBaseSearchType = "HYBRID" | "SEMANTIC";

export type DocumentStatus = "queued" | "processing" | "indexed" | "failed";

export interface ChorusDocument {
  id: string;
  workspaceId: string;
  name: string;
  status: DocumentStatus;
  /** Chunks indexed (while `processing` with `progress`: chunks to embed). */
  chunks?: number;
  sizeBytes: number;
  contentType: string;
  error: string | null;
  updatedAt: string | null;
  outcome?: string;
  /** Chunks embedded so far of a large document paused between ingest invocations. */
  progress?: DocumentProgress | null;
}

export interface DocumentProgress {
  embedded: number;
  total: number;
}

export interface SessionSummary {
  id: string;
  workspaceId: string;
  title: string;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface SessionWithMessages extends SessionSummary {
  messages: StoredMessage[];
}

export interface NewWorkspace {
  name: string;
  chunkSize?: number;
  chunkOverlap?: number;
  embeddingModel?: string;
  store?: string;
  /** An existing Bedrock knowledge base of the stack's `chorus:knowledgeBases` (store `knowledgebase`). */
  knowledgeBaseId?: string;
  knowledgeBaseSearchType?: KnowledgeBaseSearchType;
}

/** Cloud upload step 1 answer: where to send the bytes (docs/frontend.md, "Uploads"). */
export interface UploadTicket {
  documentId?: string;
  document?: ChorusDocument;
  upload: { url: string; method?: "PUT" | "POST"; headers?: Record<string, string>; fields?: Record<string, string> };
}

export type EvalCaseStatus = "candidate" | "accepted" | "rejected";

/** One case of a workspace's eval set (docs/protocol.md, "Eval sets"). */
export interface EvalCase {
  id: string;
  question: string;
  relevantDocumentIds: string[];
  referenceAnswer: string | null;
  answerable: boolean;
  origin: "file" | "manual" | "feedback" | "generated";
  status: EvalCaseStatus;
  note: string | null;
  tags: string[];
  synthetic: boolean;
}

/** The fields a review may change (`PATCH`); `null` clears `referenceAnswer` or `note`. */
export interface EvalCaseChange {
  status?: EvalCaseStatus;
  question?: string;
  relevantDocumentIds?: string[];
  referenceAnswer?: string | null;
  answerable?: boolean;
  note?: string | null;
  tags?: string[];
}

export type SourceKind = "site" | "feed";
/** `new` (registered, never fetched), `queued` (the cloud: handed to the sync worker), `synced`, `failed`. */
export type SourceStatus = "new" | "queued" | "synced" | "failed";

/** A site or feed of a workspace (docs/protocol.md, `GET /workspaces/{id}/sources`). */
export interface WebSource {
  url: string;
  kind: SourceKind;
  depth: number;
  maxPages: number;
  status: SourceStatus;
  /** `"<code>: <message>"` of the last failed sync. */
  error: string | null;
  /** Unix seconds of the last successful sync. */
  syncedAt: number | null;
  /** The cloud only: pages of a site recorded at its last sync. */
  pages?: number;
}

/** The bodies of `POST /workspaces/{id}/sources` for a site or a feed. */
export type NewSource =
  | { kind: "site"; url: string; depth?: number; maxPages?: number }
  | { kind: "feed"; url: string };

export interface QAPair {
  question: string;
  answer: string;
}

/** The bodies of `POST /workspaces/{id}/sources` for typed-in content: one text, or Q&A pairs. */
export type NewContent = { kind: "text"; name: string; text: string } | { kind: "qa"; pairs: QAPair[] };

/** What adding a text or a Q&A pair did to one document (`queued`: the cloud's worker indexes it). */
export interface ContentOutcome {
  documentId: string | null;
  name: string;
  outcome: "indexed" | "unchanged" | "failed" | "queued" | string;
  chunks: number;
  reason: string | null;
}

/** `running`, then `succeeded` or `failed` (the workflow's last step sets it). */
export type BulkJobStatus = "running" | "succeeded" | "failed" | string;

/** Objects per status of a bulk ingestion so far, and the chunks they made. */
export interface BulkCounts {
  ingested: number;
  unchanged: number;
  skipped: number;
  failed: number;
  chunks: number;
}

/** A bulk ingestion of an S3 prefix (docs/ingestion.md, "Bulk ingestion"). */
export interface BulkJob {
  jobId: string;
  workspaceId: string;
  source: string;
  status: BulkJobStatus;
  counts: BulkCounts;
  batches: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

/** What one add or sync did to a site or feed; `queued` when a worker fetches it (the cloud). */
export interface SourceReport {
  url: string;
  kind: SourceKind;
  queued?: boolean;
  fetched: number;
  indexed: number;
  unchanged: number;
  chunks: number;
  failed: { url: string; reason: string }[];
  skipped: { url: string; reason: string }[];
  documentIds: string[];
}

export type Progress = (loaded: number, total: number) => void;

/** The subset of XMLHttpRequest the uploads use (a fake one drives the tests). */
export interface XhrLike {
  upload: { onprogress: ((ev: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  status: number;
  responseText: string;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: unknown): void;
  abort(): void;
}

const enc = encodeURIComponent;

function errorFrom(status: number, body: unknown, fallback: string): ApiError {
  const e = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return new ApiError(e?.code ?? `http_${status}`, e?.message ?? fallback, status);
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly getToken: () => Promise<string | null>,
    readonly uploadMode: "direct" | "presigned" = "direct",
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
    private readonly xhrFactory: () => XhrLike = () => new XMLHttpRequest() as unknown as XhrLike,
  ) {}

  private async headers(json: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = {};
    const token = await this.getToken();
    if (token) h.authorization = `Bearer ${token}`;
    if (json) h["content-type"] = "application/json";
    return h;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers: await this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError("network_error", "Cannot reach the chorus API.");
    }
    if (response.status === 204) return undefined as T;
    const parsed = await response.json().catch(() => null);
    if (!response.ok) {
      throw errorFrom(response.status, parsed, `${method} ${path} answered ${response.status}`);
    }
    return parsed as T;
  }

  listWorkspaces = async () => (await this.request<{ workspaces: Workspace[] }>("GET", "/workspaces")).workspaces;
  createWorkspace = (w: NewWorkspace) => this.request<Workspace>("POST", "/workspaces", w);
  deleteWorkspace = (id: string) => this.request<void>("DELETE", `/workspaces/${enc(id)}`);
  listDocuments = async (workspaceId: string) =>
    (await this.request<{ documents: ChorusDocument[] }>("GET", `/workspaces/${enc(workspaceId)}/documents`)).documents;
  deleteDocument = (workspaceId: string, documentId: string) =>
    this.request<void>("DELETE", `/workspaces/${enc(workspaceId)}/documents/${enc(documentId)}`);
  listSessions = async () => (await this.request<{ sessions: SessionSummary[] }>("GET", "/sessions")).sessions;
  getSession = (id: string) => this.request<SessionWithMessages>("GET", `/sessions/${enc(id)}`);
  deleteSession = (id: string) => this.request<void>("DELETE", `/sessions/${enc(id)}`);
  /** Thumbs up/down with an optional comment on one assistant message. */
  sendFeedback = (sessionId: string, messageId: string, rating: "up" | "down", comment: string) =>
    this.request<unknown>("POST", `/sessions/${enc(sessionId)}/feedback`, { messageId, rating, comment });

  /** A workspace's eval set (workspace managers and admins only), optionally one status. */
  listEvalCases = async (workspaceId: string, status?: EvalCaseStatus) =>
    (
      await this.request<{ cases: EvalCase[] }>(
        "GET",
        `/workspaces/${enc(workspaceId)}/eval-cases${status ? `?status=${enc(status)}` : ""}`,
      )
    ).cases;
  updateEvalCase = (workspaceId: string, caseId: string, change: EvalCaseChange) =>
    this.request<EvalCase>("PATCH", `/workspaces/${enc(workspaceId)}/eval-cases/${enc(caseId)}`, change);
  deleteEvalCase = (workspaceId: string, caseId: string) =>
    this.request<void>("DELETE", `/workspaces/${enc(workspaceId)}/eval-cases/${enc(caseId)}`);
  /** Make one answered turn a case; `correct` makes the answer its reference. */
  markTurn = (sessionId: string, messageId: string, correct: boolean) =>
    this.request<EvalCase>("POST", `/sessions/${enc(sessionId)}/messages/${enc(messageId)}/eval-case`, { correct });

  /** The workspace's sites and feeds with their last sync's status. */
  listSources = async (workspaceId: string) =>
    (await this.request<{ sources: WebSource[] }>("GET", `/workspaces/${enc(workspaceId)}/sources`)).sources;
  /** Add a site or feed: fetched now locally (201), queued for the sync worker in the cloud (202). */
  addSource = (workspaceId: string, source: NewSource) =>
    this.request<SourceReport>("POST", `/workspaces/${enc(workspaceId)}/sources`, source);
  /** Re-fetch every site and feed (unchanged pages are skipped). */
  syncSources = async (workspaceId: string) =>
    (await this.request<{ sources: SourceReport[] }>("POST", `/workspaces/${enc(workspaceId)}/sources/sync`)).sources;

  /** Add a text or Q&A pairs: indexed now locally (201), queued for the worker in the cloud (202). */
  addContent = async (workspaceId: string, content: NewContent) =>
    (await this.request<{ documents: ContentOutcome[] }>("POST", `/workspaces/${enc(workspaceId)}/sources`, content))
      .documents;

  /** Start ingesting an `s3://bucket/prefix` (admins and workspace managers; the cloud's workflow). */
  startBulkIngestion = (workspaceId: string, uri: string) =>
    this.request<BulkJob>("POST", `/workspaces/${enc(workspaceId)}/bulk-ingestions`, { uri });
  getBulkIngestion = (workspaceId: string, jobId: string) =>
    this.request<BulkJob>("GET", `/workspaces/${enc(workspaceId)}/bulk-ingestions/${enc(jobId)}`);

  /** Upload one file with progress: multipart to the API locally, presigned URL in the cloud. */
  async uploadDocument(workspaceId: string, file: File, onProgress?: Progress): Promise<ChorusDocument | null> {
    const path = `/workspaces/${enc(workspaceId)}/documents`;
    if (this.uploadMode === "direct") {
      const form = new FormData();
      form.append("file", file, file.name);
      const { status, text } = await this.xhr("POST", this.baseUrl + path, form, await this.headers(false), onProgress);
      const body = safeJson(text);
      if (status < 200 || status >= 300) throw errorFrom(status, body, `upload answered ${status}`);
      return body as ChorusDocument;
    }
    const ticket = await this.request<UploadTicket>("POST", path, {
      name: file.name,
      contentType: file.type || "application/octet-stream",
      sizeBytes: file.size,
    });
    const { url, method = "PUT", headers = {}, fields } = ticket.upload;
    let body: unknown = file;
    if (method === "POST" && fields) {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append("file", file, file.name);
      body = form;
    }
    const { status } = await this.xhr(method, url, body, headers, onProgress);
    if (status < 200 || status >= 300) {
      throw new ApiError("upload_failed", `The storage service refused the upload (${status}).`, status);
    }
    return ticket.document ?? null;
  }

  private xhr(
    method: string,
    url: string,
    body: unknown,
    headers: Record<string, string>,
    onProgress?: Progress,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const xhr = this.xhrFactory();
      xhr.open(method, url);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable) onProgress?.(ev.loaded, ev.total);
      };
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => reject(new ApiError("network_error", "The upload could not reach the server."));
      xhr.onabort = () => reject(new ApiError("upload_failed", "The upload was cancelled."));
      xhr.send(body);
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
