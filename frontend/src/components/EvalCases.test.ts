import { describe, expect, it } from "vitest";
import type { EvalCase } from "../api";
import { caseActions, caseMeta } from "./EvalCases";

function evalCase(overrides: Partial<EvalCase>): EvalCase {
  return {
    id: "turn-a1",
    question: "How often do keys rotate?",
    relevantDocumentIds: ["doc-keys"],
    referenceAnswer: null,
    answerable: true,
    origin: "feedback",
    status: "candidate",
    note: null,
    tags: ["thumbs-down"],
    synthetic: false,
    ...overrides,
  };
}

describe("caseActions", () => {
  it("offers accept, reject and delete on a candidate", () => {
    expect(caseActions(evalCase({}))).toEqual(["accept", "reject", "delete"]);
  });

  it("offers no accept on an accepted case and no reject on a rejected one", () => {
    expect(caseActions(evalCase({ status: "accepted" }))).toEqual(["reject", "delete"]);
    expect(caseActions(evalCase({ status: "rejected" }))).toEqual(["accept", "delete"]);
  });

  it("offers no accept on an answerable case that names no documents", () => {
    expect(caseActions(evalCase({ relevantDocumentIds: [] }))).toEqual(["reject", "delete"]);
  });

  it("offers accept on a question that must be declined even without documents", () => {
    expect(caseActions(evalCase({ relevantDocumentIds: [], answerable: false }))).toContain("accept");
  });
});

describe("caseMeta", () => {
  it("names the origin, the documents, the reference and the note", () => {
    const c = evalCase({ relevantDocumentIds: ["a", "b"], referenceAnswer: "30 days", note: "outdated" });
    expect(caseMeta(c)).toBe("feedback · 2 documents · reference answer · “outdated”");
  });

  it("flags generated cases as synthetic and unanswerable ones as to be declined", () => {
    const c = evalCase({ origin: "generated", synthetic: true, answerable: false });
    expect(caseMeta(c)).toBe("generated (synthetic) · must be declined");
  });
});
