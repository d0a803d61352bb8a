import { describe, expect, it } from "vitest";
import { ApiClient, type XhrLike } from "./api";
import { DevAuth } from "./auth";
import { parseConfig } from "./config";
import { ApiError, describeError } from "./errors";

function fakeFetch(status: number, body: unknown, calls: { url: string; init: RequestInit }[] = []) {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
}

class FakeXhr implements XhrLike {
  upload = { onprogress: null as XhrLike["upload"]["onprogress"] };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  opened: [string, string] | null = null;
  headers: Record<string, string> = {};
  body: unknown;
  constructor(private readonly reply: { status: number; text: string } | "error") {}
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(body: unknown) {
    this.body = body;
    this.upload.onprogress?.({ loaded: 5, total: 10, lengthComputable: true });
    this.upload.onprogress?.({ loaded: 10, total: 10, lengthComputable: true });
    if (this.reply === "error") this.onerror?.();
    else {
      this.status = this.reply.status;
      this.responseText = this.reply.text;
      this.onload?.();
    }
  }
  abort() {}
}

describe("ApiClient", () => {
  it("sends the bearer token and parses JSON", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(200, { workspaces: [{ id: "w" }] }, calls));
    expect(await api.listWorkspaces()).toEqual([{ id: "w" }]);
    expect(calls[0].url).toBe("http://h/api/workspaces");
    expect((calls[0].init.headers as Record<string, string>).authorization).toBe("Bearer tok");
  });

  it("turns an error body into an ApiError with the stable code", async () => {
    const api = new ApiClient("http://h/api", async () => null, "direct", fakeFetch(409, { error: { code: "conflict", message: "taken" } }));
    await expect(api.createWorkspace({ name: "x" })).rejects.toMatchObject({ code: "conflict", message: "taken", status: 409 });
  });

  it("a network failure is network_error", async () => {
    const failing = (async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    const api = new ApiClient("http://h/api", async () => null, "direct", failing);
    await expect(api.listSessions()).rejects.toMatchObject({ code: "network_error" });
  });

  it("posts feedback in the cloud API's shape", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new ApiClient("http://h/api", async () => null, "direct", fakeFetch(200, {}, calls));
    await api.sendFeedback("s 1", "m1", "up", "good");
    expect(calls[0].url).toBe("http://h/api/sessions/s%201/feedback");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ messageId: "m1", rating: "up", comment: "good" });
  });

  it("uploads locally as multipart with progress", async () => {
    const xhr = new FakeXhr({ status: 201, text: '{"id":"d","status":"indexed"}' });
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(200, {}), () => xhr);
    const progress: number[] = [];
    const doc = await api.uploadDocument("w", new File(["hello"], "a.md"), (l, t) => progress.push(l / t));
    expect(doc).toMatchObject({ id: "d", status: "indexed" });
    expect(xhr.opened).toEqual(["POST", "http://h/api/workspaces/w/documents"]);
    expect(xhr.headers.authorization).toBe("Bearer tok");
    expect(xhr.body).toBeInstanceOf(FormData);
    expect(progress).toEqual([0.5, 1]);
  });

  it("a refused upload carries the server's error code", async () => {
    const xhr = new FakeXhr({ status: 415, text: '{"error":{"code":"unsupported_document","message":"binary"}}' });
    const api = new ApiClient("http://h/api", async () => null, "direct", fakeFetch(200, {}), () => xhr);
    await expect(api.uploadDocument("w", new File(["x"], "a.bin"))).rejects.toMatchObject({ code: "unsupported_document" });
  });

  it("uploads in the cloud through a presigned URL", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const ticket = {
      document: { id: "d", status: "queued" },
      upload: { url: "https://bucket.s3/put?sig", method: "PUT", headers: { "content-type": "text/markdown" } },
    };
    const xhr = new FakeXhr({ status: 200, text: "" });
    const api = new ApiClient("https://api", async () => "jwt", "presigned", fakeFetch(201, ticket, calls), () => xhr);
    const file = new File(["# hi"], "a.md", { type: "text/markdown" });
    const doc = await api.uploadDocument("w", file);
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ name: "a.md", contentType: "text/markdown", sizeBytes: 4 });
    expect(xhr.opened).toEqual(["PUT", "https://bucket.s3/put?sig"]);
    expect(xhr.headers).toEqual({ "content-type": "text/markdown" });
    expect(xhr.body).toBe(file);
    expect(doc).toMatchObject({ status: "queued" });
  });

  it("a failed presigned upload is upload_failed", async () => {
    const xhr = new FakeXhr({ status: 403, text: "AccessDenied" });
    const api = new ApiClient("https://api", async () => null, "presigned", fakeFetch(201, { upload: { url: "https://b" } }), () => xhr);
    await expect(api.uploadDocument("w", new File(["x"], "a.md"))).rejects.toMatchObject({ code: "upload_failed" });
  });

  it("spells the eval-set calls as docs/protocol.md does", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(200, { cases: [] }, calls));
    expect(await api.listEvalCases("w 1", "candidate")).toEqual([]);
    await api.updateEvalCase("w 1", "c/1", { status: "accepted", note: null });
    await api.markTurn("s1", "m1", true);
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["GET", "http://h/api/workspaces/w%201/eval-cases?status=candidate"],
      ["PATCH", "http://h/api/workspaces/w%201/eval-cases/c%2F1"],
      ["POST", "http://h/api/sessions/s1/messages/m1/eval-case"],
    ]);
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ status: "accepted", note: null });
    expect(JSON.parse(calls[2].init.body as string)).toEqual({ correct: true });
  });

  it("spells the source calls as docs/protocol.md does", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(200, { sources: [] }, calls));
    expect(await api.listSources("w 1")).toEqual([]);
    await api.addSource("w 1", { kind: "site", url: "https://docs.example/", depth: 1, maxPages: 20 });
    expect(await api.syncSources("w 1")).toEqual([]);
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["GET", "http://h/api/workspaces/w%201/sources"],
      ["POST", "http://h/api/workspaces/w%201/sources"],
      ["POST", "http://h/api/workspaces/w%201/sources/sync"],
    ]);
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ kind: "site", url: "https://docs.example/", depth: 1, maxPages: 20 });
  });

  it("passes on the SSRF guard's refusal of a source with its code and message", async () => {
    const refusal = { error: { code: "address_refused", message: "localhost resolves to 127.0.0.1, a loopback address" } };
    const api = new ApiClient("http://h/api", async () => null, "direct", fakeFetch(400, refusal));
    await expect(api.addSource("w", { kind: "feed", url: "http://localhost/feed" })).rejects.toMatchObject({
      code: "address_refused",
      message: "localhost resolves to 127.0.0.1, a loopback address",
      status: 400,
    });
  });

  it("adds a text and a Q&A pair as the sources API's text and qa kinds", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const outcome = { documentId: "d1", name: "Opening hours.txt", outcome: "indexed", chunks: 1, reason: null };
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(201, { documents: [outcome] }, calls));
    expect(await api.addContent("w 1", { kind: "text", name: "Opening hours", text: "9 to 5" })).toEqual([outcome]);
    await api.addContent("w 1", { kind: "qa", pairs: [{ question: "When?", answer: "At 9." }] });
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["POST", "http://h/api/workspaces/w%201/sources"],
      ["POST", "http://h/api/workspaces/w%201/sources"],
    ]);
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ kind: "text", name: "Opening hours", text: "9 to 5" });
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ kind: "qa", pairs: [{ question: "When?", answer: "At 9." }] });
  });

  it("passes on the API's refusal of an empty text with its code", async () => {
    const refusal = { error: { code: "bad_url", message: "the text is empty" } };
    const api = new ApiClient("http://h/api", async () => null, "direct", fakeFetch(400, refusal));
    await expect(api.addContent("w", { kind: "text", name: "t", text: " " })).rejects.toMatchObject({
      code: "bad_url",
      message: "the text is empty",
    });
  });

  it("starts a bulk ingestion and reads its progress under the workspace", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const job = { jobId: "bulk-1", status: "running", counts: { ingested: 0, unchanged: 0, skipped: 0, failed: 0, chunks: 0 } };
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(202, job, calls));
    expect(await api.startBulkIngestion("w 1", "s3://corpus/manuals/")).toMatchObject({ jobId: "bulk-1" });
    await api.getBulkIngestion("w 1", "bulk-1");
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["POST", "http://h/api/workspaces/w%201/bulk-ingestions"],
      ["GET", "http://h/api/workspaces/w%201/bulk-ingestions/bulk-1"],
    ]);
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ uri: "s3://corpus/manuals/" });
  });

  it("creates a knowledge base workspace with its id and search type", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new ApiClient("http://h/api", async () => "tok", "direct", fakeFetch(201, { id: "kb" }, calls));
    await api.createWorkspace({ name: "kb", knowledgeBaseId: "ABCDE12345", knowledgeBaseSearchType: "HYBRID" });
    expect(JSON.parse(calls[0].init.body as string)).toEqual({
      name: "kb",
      knowledgeBaseId: "ABCDE12345",
      knowledgeBaseSearchType: "HYBRID",
    });
  });
});

describe("DevAuth", () => {
  function memory() {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
  }

  it("signs in, remembers the session and signs out", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const auth = new DevAuth("http://h/api", memory(), fakeFetch(200, { user: "alice", token: "t", expiresAt: Date.now() / 1000 + 60 }, calls));
    expect(await auth.current()).toBeNull();
    expect(await auth.signIn(" alice ")).toEqual({ user: "alice", token: "t" });
    expect(calls[0].url).toBe("http://h/api/auth/dev-login");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ user: "alice" });
    expect(await auth.current()).toEqual({ user: "alice", token: "t" });
    await auth.signOut();
    expect(await auth.current()).toBeNull();
  });

  it("forgets an expired session", async () => {
    const store = memory();
    store.setItem("chorus.devSession", JSON.stringify({ user: "a", token: "t", expiresAt: 1 }));
    expect(await new DevAuth("http://h/api", store).current()).toBeNull();
  });

  it("a refused sign-in is an ApiError", async () => {
    const auth = new DevAuth("http://h/api", memory(), fakeFetch(400, { error: { code: "bad_request", message: "bad name" } }));
    await expect(auth.signIn("x y")).rejects.toBeInstanceOf(ApiError);
  });
});

describe("parseConfig", () => {
  it("reads the local server's config with local defaults", () => {
    const c = parseConfig({
      mode: "local",
      websocketUrl: "ws://h/ws",
      apiUrl: "http://h/api/",
      models: ["extractive"],
      defaultModel: "extractive",
      defaultWorkspace: "default",
      embeddingModel: "all-MiniLM-L6-v2",
    });
    expect(c).toMatchObject({ mode: "local", apiUrl: "http://h/api", modes: ["single"], embeddingModels: ["all-MiniLM-L6-v2"] });
  });

  it("cloud mode needs the user pool and offers every mode by default", () => {
    expect(() => parseConfig({ mode: "cloud" })).toThrow(/userPoolId/);
    const c = parseConfig({ mode: "cloud", userPoolId: "p", userPoolClientId: "c", httpApiUrl: "https://api", models: ["a", "b"] });
    expect(c.modes).toEqual(["single", "cascade", "consensus"]);
    expect(c.apiUrl).toBe("https://api");
    expect(c.defaultModel).toBe("a");
  });
});

describe("describeError", () => {
  it.each(["throttled", "provider_unavailable", "unauthorized", "connection_lost", "timeout", "address_refused", "not_deployed", "not_a_feed"])("knows %s", (code) => {
    expect(describeError(code).title).not.toBe("Something went wrong");
  });

  it("maps HTTP statuses it does not know", () => {
    expect(describeError("http_503").title).toBe(describeError("internal_error").title);
    expect(describeError("http_401").title).toMatch(/authorised/);
    expect(describeError("whatever").retryable).toBe(true);
  });
});
