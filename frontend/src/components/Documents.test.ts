import { describe, expect, it } from "vitest";
import type { ChorusDocument } from "../api";
import { documentMeta } from "./Documents";

function doc(overrides: Partial<ChorusDocument>): ChorusDocument {
  return {
    id: "d1",
    workspaceId: "w1",
    name: "manual.pdf",
    status: "indexed",
    chunks: 0,
    sizeBytes: 2 * 1024 * 1024,
    contentType: "application/pdf",
    error: null,
    updatedAt: null,
    ...overrides,
  };
}

describe("documentMeta", () => {
  it("shows how many chunks a paused processing document has embedded", () => {
    const d = doc({ status: "processing", chunks: 4096, progress: { embedded: 1024, total: 4096 } });
    expect(documentMeta(d)).toBe("1,024 / 4,096 chunks embedded · 2.0 MB");
  });

  it("shows only the size of a processing document without progress", () => {
    expect(documentMeta(doc({ status: "processing", progress: null }))).toBe("2.0 MB");
  });

  it("ignores progress left on a document that is no longer processing", () => {
    const d = doc({ status: "indexed", chunks: 4096, progress: { embedded: 1024, total: 4096 } });
    expect(documentMeta(d)).toBe("4,096 chunks · 2.0 MB");
  });

  it("counts a single chunk in the singular", () => {
    expect(documentMeta(doc({ chunks: 1 }))).toBe("1 chunk · 2.0 MB");
  });

  it("gives a failed document's reason", () => {
    expect(documentMeta(doc({ status: "failed", error: "bad PDF" }))).toBe("2.0 MB · bad PDF");
  });
});
