import { describe, expect, it } from "vitest";
import type { Workspace } from "../api";
import { parseConfig } from "../config";
import { isReadOnly, readOnlyNote } from "./readOnly";
import { offersKnowledgeBases, readWorkspaceForm, type WorkspaceForm } from "./WorkspaceBar";

const local = parseConfig({ mode: "local", embeddingModels: ["minilm"], stores: ["pgvector"] });
const cloud = parseConfig({
  mode: "cloud",
  userPoolId: "eu-west-1_abc",
  userPoolClientId: "client",
  embeddingModels: ["titan-v2", "cohere-v3"],
  stores: ["aurora", "s3vectors"],
});

const form = (over: Partial<WorkspaceForm>): WorkspaceForm => ({
  name: "support",
  chunkSize: 1000,
  chunkOverlap: 200,
  embeddingModel: "cohere-v3",
  store: "s3vectors",
  knowledgeBase: false,
  knowledgeBaseId: "",
  knowledgeBaseSearchType: "",
  ...over,
});

function workspace(over: Partial<Workspace>): Workspace {
  return {
    id: "w",
    name: "w",
    embeddingModel: "m",
    embeddingDimension: 384,
    chunkSize: 1000,
    chunkOverlap: 200,
    store: "pgvector",
    createdAt: null,
    ...over,
  };
}

describe("readWorkspaceForm", () => {
  it("sends chunking, and the model and store only where the server offers a choice", () => {
    expect(readWorkspaceForm(form({}), cloud)).toEqual({
      body: { name: "support", chunkSize: 1000, chunkOverlap: 200, embeddingModel: "cohere-v3", store: "s3vectors" },
    });
    expect(readWorkspaceForm(form({ embeddingModel: "minilm", store: "pgvector" }), local)).toEqual({
      body: { name: "support", chunkSize: 1000, chunkOverlap: 200 },
    });
  });

  it("refuses an overlap as large as the chunk", () => {
    expect(readWorkspaceForm(form({ chunkOverlap: 1000 }), cloud)).toEqual({ problem: "Overlap must be smaller than the chunk size." });
  });

  it("sends a knowledge base workspace as name, id and search type only", () => {
    const read = readWorkspaceForm(form({ knowledgeBase: true, knowledgeBaseId: "abcde12345", knowledgeBaseSearchType: "SEMANTIC" }), cloud);
    expect(read).toEqual({ body: { name: "support", knowledgeBaseId: "ABCDE12345", knowledgeBaseSearchType: "SEMANTIC" } });
  });

  it("leaves the search type to the knowledge base when none is chosen", () => {
    expect(readWorkspaceForm(form({ knowledgeBase: true, knowledgeBaseId: "ABCDE12345" }), cloud)).toEqual({
      body: { name: "support", knowledgeBaseId: "ABCDE12345" },
    });
  });

  it("refuses a knowledge base id that is not 10 letters and digits", () => {
    for (const id of ["", "ABCDE1234", "ABCDE123456", "ABCDE-1234"]) {
      expect(readWorkspaceForm(form({ knowledgeBase: true, knowledgeBaseId: id }), cloud)).toHaveProperty("problem");
    }
  });

  it("refuses a blank name", () => {
    expect(readWorkspaceForm(form({ name: "  " }), cloud)).toEqual({ problem: "Give the workspace a name." });
  });
});

describe("offersKnowledgeBases", () => {
  it("offers knowledge bases in the cloud, not on a laptop", () => {
    expect(offersKnowledgeBases(cloud)).toBe(true);
    expect(offersKnowledgeBases(local)).toBe(false);
  });
});

describe("isReadOnly", () => {
  it("marks a knowledge base workspace read-only, by id or by store", () => {
    expect(isReadOnly(workspace({ store: "knowledgebase", knowledgeBaseId: "ABCDE12345" }))).toBe(true);
    expect(isReadOnly(workspace({ store: "knowledgebase" }))).toBe(true);
    expect(isReadOnly(workspace({}))).toBe(false);
    expect(isReadOnly(null)).toBe(false);
  });

  it("names the knowledge base in the note", () => {
    expect(readOnlyNote(workspace({ store: "knowledgebase", knowledgeBaseId: "ABCDE12345" }))).toContain(
      "Bedrock knowledge base ABCDE12345",
    );
  });
});
