// What each stable error code means for a person, and what they can do about it.

export interface ErrorInfo {
  title: string;
  hint: string;
  /** Worth offering a "try again" button. */
  retryable: boolean;
}

const INFO: Record<string, ErrorInfo> = {
  bad_request: { title: "The request was refused", hint: "Check what you typed and try again.", retryable: false },
  payload_too_large: { title: "Too large", hint: "Shorten the question or upload a smaller file.", retryable: false },
  not_found: { title: "Not found", hint: "It may have been deleted; pick another workspace or session.", retryable: false },
  forbidden: { title: "Not your session", hint: "Start a new chat.", retryable: false },
  conflict: { title: "Already exists", hint: "Choose another name.", retryable: false },
  unsupported_mode: { title: "Mode not available here", hint: "This server answers in single mode only.", retryable: false },
  unknown_model: { title: "Unknown model", hint: "Pick a model from the list.", retryable: false },
  unsupported_document: { title: "Unsupported document", hint: "Upload .txt, .md, .html, .pdf, .docx, .csv, .json or .jsonl.", retryable: false },
  throttled: { title: "The model is busy (throttled)", hint: "Wait a few seconds and try again.", retryable: true },
  timeout: { title: "The model took too long", hint: "Try again, or ask a shorter question.", retryable: true },
  provider_unavailable: { title: "The model provider is down", hint: "Try again later or choose another model.", retryable: true },
  context_too_long: { title: "Too much context for the model", hint: "Start a new chat or ask a shorter question.", retryable: false },
  internal_error: { title: "The server failed", hint: "Try once more; report it if it keeps happening.", retryable: true },
  unauthorized: { title: "Not signed in", hint: "Your sign-in expired; sign in again.", retryable: false },
  not_authorized: { title: "Not authorised", hint: "Your sign-in expired or lacks access; sign in again.", retryable: false },
  connection_lost: { title: "Connection lost", hint: "The answer may still be in the session history once reconnected.", retryable: true },
  network_error: { title: "Cannot reach the server", hint: "Check that chorus is running and your network is up.", retryable: true },
  bad_response: { title: "Unexpected reply from the server", hint: "Reload the page; report it if it persists.", retryable: true },
  upload_failed: { title: "Upload failed", hint: "Try the upload again.", retryable: true },
  not_deployed: { title: "Not offered by this deployment", hint: "Upload the pages as files, or ask an operator to enable web sources.", retryable: false },
  read_only_store: { title: "Read-only workspace", hint: "It retrieves from a knowledge base that syncs its own data sources.", retryable: false },
  address_refused: {
    title: "Address not allowed",
    hint: "Only public addresses are fetched; on a laptop, CHORUS_SOURCES_ALLOW_PRIVATE=1 allows private ones.",
    retryable: false,
  },
  bad_url: { title: "Not a web address", hint: "Enter a full http:// or https:// URL.", retryable: false },
  http_error: { title: "The site answered with an error", hint: "Open the URL in a browser to check it.", retryable: false },
  robots_disallowed: { title: "The site's robots.txt forbids it", hint: "Choose pages the site lets crawlers read.", retryable: false },
  not_a_feed: { title: "Not a feed", hint: "Enter the RSS or Atom address, or add the page as a site.", retryable: false },
  not_html: { title: "Not a web page", hint: "Add a page that serves HTML, or upload the file.", retryable: false },
  too_large: { title: "The page is too large", hint: "Upload it as a file instead.", retryable: false },
  unreachable: { title: "Cannot reach the site", hint: "Check the address and that the site is up.", retryable: true },
  invalid_knowledge_base: {
    title: "Knowledge base not allowed",
    hint: "Use a 10-character id listed in the stack's chorus:knowledgeBases (the message names them).",
    retryable: false,
  },
  knowledge_base_not_found: { title: "Knowledge base not found", hint: "Check the id and the region of the knowledge base.", retryable: false },
  knowledge_base_access_denied: { title: "No access to the knowledge base", hint: "Add it to chorus:knowledgeBases and run pulumi up.", retryable: false },
  knowledge_base_rejected: { title: "The knowledge base refused the query", hint: "Try another wording or search type.", retryable: false },
  source_not_readable: {
    title: "Cannot list that S3 location",
    hint: "Check the bucket name and that it is in bulkIngestion.sourceBuckets.",
    retryable: false,
  },
  empty_source: { title: "Nothing to ingest there", hint: "The prefix holds no objects; check it.", retryable: false },
  too_many_redirects: { title: "Too many redirects", hint: "Enter the address the site finally redirects to.", retryable: false },
};

export function describeError(code: string | null | undefined): ErrorInfo {
  if (code && INFO[code]) return INFO[code];
  if (code && /^http_5\d\d$/.test(code)) return INFO.internal_error;
  if (code === "http_401" || code === "http_403") return INFO.not_authorized;
  return { title: "Something went wrong", hint: "Try again.", retryable: true };
}

/** An error from the REST API or the network, with the protocol's stable code. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}
