import { describe, expect, it } from "vitest";
import { heartbeatFrame, parseServerEvent, ProtocolError, sendMessageFrame } from "./protocol";

const ids = { sessionId: "s-1", messageId: "6d87e82e0fd74438b17d0f915eb31ca4" };

describe("parseServerEvent", () => {
  it("parses a sources event with every field of a source", () => {
    const event = parseServerEvent(
      JSON.stringify({
        type: "sources",
        ...ids,
        sources: [{ n: 1, documentId: "d1", documentName: "chess.md", chunkId: "c1", score: 1.5, snippet: "Castling…" }],
      }),
    );
    expect(event).toEqual({
      type: "sources",
      ...ids,
      sources: [{ n: 1, documentId: "d1", documentName: "chess.md", chunkId: "c1", score: 1.5, snippet: "Castling…" }],
    });
  });

  it("parses a token event with its model", () => {
    expect(parseServerEvent(JSON.stringify({ type: "token", ...ids, model: "extractive", text: "Castling " }))).toEqual({
      type: "token",
      ...ids,
      model: "extractive",
      text: "Castling ",
    });
  });

  it("parses a single-mode final event as the protocol documents it", () => {
    const event = parseServerEvent(
      JSON.stringify({
        type: "final",
        ...ids,
        answer: "Castling moves the king. [1]",
        model: "extractive",
        mode: "single",
        answers: [{ model: "extractive", text: "Castling moves the king. [1]", usage: { inputTokens: 0, outputTokens: 0 }, cost: 0 }],
        agreement: null,
        grounding: null,
        usage: { inputTokens: 3, outputTokens: 5 },
        cost: 0.0012,
        latencyMs: { retrieval: 26.5, generation: 35.48, firstToken: 54.01, total: 64.1, "retrieval.embed_query": 6.94 },
        cached: false,
      }),
    );
    expect(event.type).toBe("final");
    if (event.type !== "final") return;
    expect(event.answer).toBe("Castling moves the king. [1]");
    expect(event.answers).toHaveLength(1);
    expect(event.agreement).toBeNull();
    expect(event.grounding).toBeNull();
    expect(event.unsupported).toEqual([]);
    expect(event.usage).toEqual({ inputTokens: 3, outputTokens: 5 });
    expect(event.cost).toBe(0.0012);
    expect(event.latencyMs.total).toBe(64.1);
    expect(event.latencyMs["retrieval.embed_query"]).toBe(6.94);
  });

  it("reads agreement, grounding and unsupported sentences of a consensus answer", () => {
    const event = parseServerEvent(
      JSON.stringify({
        type: "final",
        ...ids,
        answer: "A. B.",
        mode: "consensus",
        answers: [
          { model: "m1", text: "A." },
          { model: "m2", text: "", failed: true, error: { code: "throttled", message: "busy" } },
        ],
        agreement: 0.74,
        grounding: 0.5,
        unsupported: ["B.", { sentence: "C.", start: 3, end: 5 }, { text: "" }, 7],
      }),
    );
    if (event.type !== "final") throw new Error("not final");
    expect(event.agreement).toBe(0.74);
    expect(event.grounding).toBe(0.5);
    expect(event.unsupported).toEqual([{ text: "B." }, { text: "C.", start: 3, end: 5 }]);
    expect(event.answers[1].failed).toBe(true);
    expect(event.answers[1].error).toEqual({ code: "throttled", message: "busy" });
    expect(event.model).toBe("m1");
  });

  it("reads contradicted sentences, relevance and whether the documents cover the question", () => {
    const event = parseServerEvent(
      JSON.stringify({
        type: "final",
        answer: "Aurora cannot pause [1].",
        contradicted: [
          {
            text: "Aurora cannot pause.",
            source: 1,
            evidence: "Aurora can pause.",
            differences: [{ kind: "negation", claim: "cannot", source: "" }, "junk"],
          },
          { text: "" },
        ],
        relevance: 0.61,
        covered: false,
      }),
    );
    if (event.type !== "final") throw new Error("expected a final event");
    expect(event.contradicted).toEqual([
      {
        text: "Aurora cannot pause.",
        source: 1,
        evidence: "Aurora can pause.",
        differences: [{ kind: "negation", claim: "cannot", source: "" }],
      },
    ]);
    expect(event.relevance).toBe(0.61);
    expect(event.covered).toBe(false);
  });

  it("treats a final event without the new fields as covered with nothing contradicted", () => {
    const event = parseServerEvent(JSON.stringify({ type: "final", answer: "Yes." }));
    if (event.type !== "final") throw new Error("expected a final event");
    expect([event.contradicted, event.relevance, event.covered]).toEqual([[], null, true]);
  });

  it("accepts grounding as an object with its own unsupported list", () => {
    const event = parseServerEvent(
      JSON.stringify({ type: "final", ...ids, answer: "x", grounding: { score: 0.3, unsupported: ["x"] } }),
    );
    if (event.type !== "final") throw new Error("not final");
    expect(event.grounding).toBe(0.3);
    expect(event.unsupported).toEqual([{ text: "x" }]);
  });

  it("parses an error event with null ids", () => {
    expect(
      parseServerEvent('{"type":"error","sessionId":null,"messageId":null,"code":"bad_request","message":"invalid"}'),
    ).toEqual({ type: "error", sessionId: null, messageId: null, code: "bad_request", message: "invalid" });
  });

  it("parses a heartbeat", () => {
    expect(parseServerEvent('{"type":"heartbeat","sessionId":null,"messageId":null}')).toEqual({
      type: "heartbeat",
      sessionId: null,
      messageId: null,
    });
  });

  it.each([
    ["not JSON", "{oops"],
    ["an array", "[1]"],
    ["an unknown type", '{"type":"party"}'],
    ["a token without text", '{"type":"token","model":"m"}'],
    ["sources that are not a list", '{"type":"sources","sources":{}}'],
    ["a final without answer", '{"type":"final"}'],
  ])("refuses %s with a ProtocolError", (_name, raw) => {
    expect(() => parseServerEvent(raw)).toThrow(ProtocolError);
  });
});

describe("client frames", () => {
  it("sendMessage keeps only the fields that are set and trims the text", () => {
    expect(JSON.parse(sendMessageFrame({ workspaceId: "default", text: "  hi  ", sessionId: null, models: [] }))).toEqual({
      action: "sendMessage",
      data: { workspaceId: "default", text: "hi" },
    });
  });

  it("sendMessage carries session, mode, at most 8 models and model kwargs", () => {
    const frame = JSON.parse(
      sendMessageFrame({
        workspaceId: "w",
        text: "q",
        sessionId: "s-1",
        mode: "consensus",
        models: ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
        modelKwargs: { temperature: 0.2 },
      }),
    );
    expect(frame.data.sessionId).toBe("s-1");
    expect(frame.data.mode).toBe("consensus");
    expect(frame.data.models).toHaveLength(8);
    expect(frame.data.modelKwargs).toEqual({ temperature: 0.2 });
  });

  it("heartbeat is the bare action", () => {
    expect(JSON.parse(heartbeatFrame())).toEqual({ action: "heartbeat" });
  });
});
