import { describe, expect, it } from "vitest";
import type { ContentOutcome } from "../api";
import { ApiError } from "../errors";
import { bodyBytes, contentError, LIMITS, MAX_BODY_BYTES, outcomeSummary, readContentForm, type ContentForm } from "./TextSources";

const form = (over: Partial<ContentForm>): ContentForm => ({
  kind: "qa",
  name: "",
  text: "",
  question: "When does the shop open?",
  answer: "At nine, Monday to Saturday.",
  ...over,
});

function outcome(over: Partial<ContentOutcome>): ContentOutcome {
  return { documentId: "d1", name: "Opening hours.txt", outcome: "indexed", chunks: 2, reason: null, ...over };
}

describe("readContentForm", () => {
  it("makes one Q&A pair, trimmed", () => {
    expect(readContentForm(form({ question: "  When?  ", answer: " At nine. " }))).toEqual({
      content: { kind: "qa", pairs: [{ question: "When?", answer: "At nine." }] },
    });
  });

  it("makes a text with its title as the name and the body as typed", () => {
    expect(readContentForm(form({ kind: "text", name: " Opening hours ", text: "Nine to five.\n" }))).toEqual({
      content: { kind: "text", name: "Opening hours", text: "Nine to five.\n" },
    });
  });

  it("refuses an empty question or answer", () => {
    expect(readContentForm(form({ question: "   " }))).toEqual({ problem: "The question is empty." });
    expect(readContentForm(form({ answer: "" }))).toEqual({ problem: "The answer is empty." });
  });

  it("refuses a text without a title or with a blank body", () => {
    expect(readContentForm(form({ kind: "text", name: "", text: "x" }))).toHaveProperty("problem");
    expect(readContentForm(form({ kind: "text", name: "t", text: " \n\t" }))).toEqual({
      problem: "The text is empty: type or paste the text to index.",
    });
  });

  it("refuses fields over the API's limits, naming the limit", () => {
    const long = readContentForm(form({ question: "q".repeat(LIMITS.question + 1) }));
    expect(long).toEqual({ problem: "The question is 2,001 characters; the limit is 2,000." });
    expect(readContentForm(form({ kind: "text", name: "n".repeat(LIMITS.name + 1), text: "x" }))).toHaveProperty("problem");
  });

  it("refuses a body over 64 KiB, counting UTF-8 bytes rather than characters", () => {
    const fits = "a".repeat(MAX_BODY_BYTES - 100);
    expect(readContentForm(form({ kind: "text", name: "t", text: fits }))).toHaveProperty("content");
    const wide = "é".repeat(MAX_BODY_BYTES / 2); // 2 bytes each: over the limit in bytes only
    const read = readContentForm(form({ kind: "text", name: "t", text: wide }));
    expect(read).toHaveProperty("problem");
    expect((read as { problem: string }).problem).toMatch(/at most 64 KiB/);
  });
});

describe("bodyBytes", () => {
  it("measures the JSON the API receives", () => {
    expect(bodyBytes({ kind: "text", name: "t", text: "é" })).toBe(JSON.stringify({ kind: "text", name: "t", text: "é" }).length + 1);
  });
});

describe("outcomeSummary", () => {
  it("says what indexing did", () => {
    expect(outcomeSummary(outcome({}))).toBe("Opening hours.txt: indexed, 2 chunks");
    expect(outcomeSummary(outcome({ chunks: 1 }))).toBe("Opening hours.txt: indexed, 1 chunk");
    expect(outcomeSummary(outcome({ outcome: "unchanged" }))).toMatch(/unchanged/);
  });

  it("says a queued add is indexed in the background", () => {
    expect(outcomeSummary(outcome({ outcome: "queued", documentId: null }))).toBe(
      "Opening hours.txt: queued, indexed in the background",
    );
  });

  it("gives a failed document's reason", () => {
    expect(outcomeSummary(outcome({ outcome: "failed", reason: "no text to index" }))).toBe(
      "Opening hours.txt: failed (no text to index)",
    );
  });
});

describe("contentError", () => {
  it("presents the API's empty-text refusal as a form problem, not an address problem", () => {
    const shown = contentError(new ApiError("bad_url", "every Q&A pair needs a question and an answer", 400));
    expect(shown).toEqual({
      code: "bad_url",
      title: "Check the form",
      message: "every Q&A pair needs a question and an answer",
      hint: "",
    });
  });

  it("keeps the title and hint of other codes", () => {
    const shown = contentError(new ApiError("payload_too_large", "request body is 70000 bytes; the limit is 65536", 413));
    expect(shown.title).toBe("Too large");
    expect(shown.message).toContain("70000");
  });

  it("explains a read-only workspace's refusal", () => {
    expect(contentError(new ApiError("read_only_store", "kb", 409)).title).toBe("Read-only workspace");
  });
});
