import type { Workspace } from "../api";

/** The store of a workspace that retrieves from an existing Bedrock knowledge base. */
export const KNOWLEDGE_BASE_STORE = "knowledgebase";

/** A knowledge base workspace is read-only: the knowledge base syncs its own data sources, and
 * the API refuses uploads, sources and bulk ingestion into it (`409 read_only_store`). */
export function isReadOnly(workspace: Workspace | null): boolean {
  return !!workspace && (!!workspace.knowledgeBaseId || workspace.store === KNOWLEDGE_BASE_STORE);
}

/** What the panels say instead of their forms in a read-only workspace. */
export function readOnlyNote(workspace: Workspace): string {
  const kb = workspace.knowledgeBaseId ? `Bedrock knowledge base ${workspace.knowledgeBaseId}` : "a Bedrock knowledge base";
  return `Read-only: this workspace retrieves from ${kb}, which indexes its own data sources. Add documents there and start a sync in the knowledge base; chorus does not ingest into it.`;
}

/** The shorter note of the panels below Documents (which carries the full one). */
export const READ_ONLY_SHORT = "Read-only: a knowledge base workspace takes no uploads, sources or bulk ingestion.";
