import { describe, expect, it } from "vitest";
import { parseServerEvent, type ServerEvent } from "../protocol";
import { answerParts, chatReducer, emptyChat, formatCost, formatMs, turnsFromHistory, type ChatState } from "./state";

const M = "6d87e82e0fd74438b17d0f915eb31ca4";
const ev = (o: Record<string, unknown>): ServerEvent =>
  parseServerEvent(JSON.stringify({ sessionId: "s-1", messageId: M, ...o }));
const source = { n: 1, documentId: "d", documentName: "chess.md", chunkId: "c", score: 1, snippet: "Castling" };
const final = { type: "final", answer: "Castling moves the king. [1]", model: "extractive", mode: "single", answers: [] };

function run(...events: ServerEvent[]): ChatState {
  let s = chatReducer(emptyChat, { type: "send", key: "k1", question: "What is castling?", mode: "single", models: ["extractive"] });
  for (const e of events) s = chatReducer(s, { type: "event", event: e });
  return s;
}

describe("chatReducer", () => {
  it("a sent question waits for its first event", () => {
    const s = run();
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({ status: "waiting", question: "What is castling?", messageId: null });
  });

  it("the first event names the turn and the session", () => {
    const s = run(ev({ type: "sources", sources: [source] }));
    expect(s.sessionId).toBe("s-1");
    expect(s.turns[0]).toMatchObject({ messageId: M, status: "streaming" });
    expect(s.turns[0].sources[0].documentName).toBe("chess.md");
  });

  it("streamed tokens add up per model", () => {
    const s = run(
      ev({ type: "sources", sources: [] }),
      ev({ type: "token", model: "extractive", text: "Castling " }),
      ev({ type: "token", model: "extractive", text: "moves" }),
    );
    expect(s.turns[0].streams).toEqual([{ model: "extractive", text: "Castling moves" }]);
  });

  it("tokens of several models stream side by side in the order they first spoke", () => {
    const s = run(
      ev({ type: "token", model: "b", text: "B1 " }),
      ev({ type: "token", model: "a", text: "A1 " }),
      ev({ type: "token", model: "b", text: "B2" }),
    );
    expect(s.turns[0].streams).toEqual([
      { model: "b", text: "B1 B2" },
      { model: "a", text: "A1 " },
    ]);
  });

  it("final completes the turn", () => {
    const s = run(ev({ type: "sources", sources: [source] }), ev(final));
    expect(s.turns[0].status).toBe("done");
    expect(s.turns[0].final?.answer).toBe("Castling moves the king. [1]");
  });

  it("an error ends the turn with its code, keeping the sources already shown", () => {
    const s = run(ev({ type: "sources", sources: [source] }), ev({ type: "error", code: "throttled", message: "slow down" }));
    expect(s.turns[0]).toMatchObject({ status: "error", error: { code: "throttled", message: "slow down" } });
    expect(s.turns[0].sources).toHaveLength(1);
  });

  it("an error with no ids fails the waiting turn", () => {
    const s = run(parseServerEvent('{"type":"error","sessionId":null,"messageId":null,"code":"bad_request","message":"x"}'));
    expect(s.turns[0]).toMatchObject({ status: "error", error: { code: "bad_request" } });
    expect(s.sessionId).toBeNull();
  });

  it("an error that belongs to no turn becomes a notice", () => {
    const s = chatReducer(emptyChat, {
      type: "event",
      event: parseServerEvent('{"type":"error","sessionId":null,"messageId":null,"code":"unauthorized","message":"x"}'),
    });
    expect(s.notices).toEqual([{ code: "unauthorized", message: "x" }]);
    expect(chatReducer(s, { type: "clearNotices" }).notices).toEqual([]);
  });

  it("heartbeats and events of unknown turns change nothing", () => {
    const before = run(ev(final));
    const after = chatReducer(
      chatReducer(before, { type: "event", event: parseServerEvent('{"type":"heartbeat"}') }),
      { type: "event", event: ev({ type: "token", messageId: "other", model: "x", text: "late" }) },
    );
    expect(after).toBe(before);
  });

  it("a lost connection fails only the turns still in flight", () => {
    let s = run(ev(final));
    s = chatReducer(s, { type: "send", key: "k2", question: "Another?", mode: "single", models: [] });
    s = chatReducer(s, { type: "connectionLost" });
    expect(s.turns.map((t) => t.status)).toEqual(["done", "error"]);
    expect(s.turns[1].error?.code).toBe("connection_lost");
  });

  it("a second turn keeps the session and gets its own id", () => {
    let s = run(ev(final));
    s = chatReducer(s, { type: "send", key: "k2", question: "More?", mode: "single", models: [] });
    s = chatReducer(s, { type: "event", event: ev({ type: "sources", messageId: "m2", sources: [] }) });
    expect(s.sessionId).toBe("s-1");
    expect(s.turns[1].messageId).toBe("m2");
    expect(s.turns[0].messageId).toBe(M);
  });

  it("feedback is recorded on its turn", () => {
    const s = chatReducer(run(ev(final)), { type: "feedback", messageId: M, feedback: { rating: "down", comment: "wrong" } });
    expect(s.turns[0].feedback).toEqual({ rating: "down", comment: "wrong" });
  });

  it("new chat forgets the session", () => {
    expect(chatReducer(run(ev(final)), { type: "newChat" })).toEqual(emptyChat);
  });
});

describe("turnsFromHistory", () => {
  it("pairs each question with its stored answer, sources, usage and feedback", () => {
    const turns = turnsFromHistory([
      { id: `${M}-q`, role: "user", content: "What is castling?", details: {} },
      {
        id: M,
        role: "assistant",
        content: "Castling moves the king. [1]",
        details: {
          model: "extractive",
          sources: [source],
          usage: { inputTokens: 1, outputTokens: 2 },
          cost: 0.5,
          latencyMs: { total: 12 },
        },
        feedback: { rating: "up", comment: "nice" },
      },
    ]);
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ question: "What is castling?", messageId: M, status: "done", feedback: { rating: "up", comment: "nice" } });
    expect(turns[0].final).toMatchObject({ answer: "Castling moves the king. [1]", cost: 0.5, usage: { inputTokens: 1, outputTokens: 2 } });
    expect(turns[0].final?.latencyMs.total).toBe(12);
    expect(turns[0].sources[0].documentName).toBe("chess.md");
  });

  it("shows a stored failure as an error turn", () => {
    const turns = turnsFromHistory([
      { id: "m-q", role: "user", content: "Q", details: {} },
      { id: "m", role: "assistant", content: "", details: { model: "x", error: { code: "timeout", message: "late" } } },
    ]);
    expect(turns[0]).toMatchObject({ status: "error", error: { code: "timeout", message: "late" } });
  });

  it("a question without a stored answer says so", () => {
    const turns = turnsFromHistory([{ id: "m-q", role: "user", content: "Q" }]);
    expect(turns[0].status).toBe("error");
  });
});

describe("answerParts", () => {
  it("splits citations out of the text", () => {
    expect(answerParts("Kings castle. [1] Pawns [2]")).toEqual([
      { text: "Kings castle. ", unsupported: false, citation: null },
      { text: "[1]", unsupported: false, citation: 1 },
      { text: " Pawns ", unsupported: false, citation: null },
      { text: "[2]", unsupported: false, citation: 2 },
    ]);
  });

  it("marks unsupported sentences", () => {
    const parts = answerParts("Good one. Made up claim. End.", [{ text: "Made up claim." }]);
    expect(parts.filter((p) => p.unsupported).map((p) => p.text)).toEqual(["Made up claim."]);
    expect(parts.map((p) => p.text).join("")).toBe("Good one. Made up claim. End.");
  });

  it("marks contradicted sentences apart from unsupported ones, with their source sentence", () => {
    const contradiction = {
      text: "Aurora cannot pause.",
      source: 1,
      evidence: "Aurora can pause at zero capacity.",
      differences: [{ kind: "negation", claim: "cannot", source: "" }],
    };
    const parts = answerParts("Aurora cannot pause. [1] Made up. End.", [{ text: "Made up." }], [contradiction]);
    expect(parts.filter((p) => p.contradiction).map((p) => [p.text, p.contradiction?.evidence])).toEqual([
      ["Aurora cannot pause.", "Aurora can pause at zero capacity."],
    ]);
    expect(parts.filter((p) => p.unsupported).map((p) => p.text)).toEqual(["Made up."]);
    expect(parts.find((p) => p.citation === 1)?.contradiction).toBeUndefined();
  });

  it("ignores unsupported sentences that are not in the answer", () => {
    expect(answerParts("Text.", [{ text: "Elsewhere." }])).toEqual([{ text: "Text.", unsupported: false, citation: null }]);
  });
});

describe("formatting", () => {
  it("formats cost and latency", () => {
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(0.00123)).toBe("$0.0012");
    expect(formatCost(1.5)).toBe("$1.50");
    expect(formatMs(54.2)).toBe("54 ms");
    expect(formatMs(1530)).toBe("1.5 s");
    expect(formatMs(null)).toBe("–");
  });
});
