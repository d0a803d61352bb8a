// Runtime configuration from /config.json, so one build serves the laptop and every stack.

import { MODES, type Mode } from "./protocol";

export interface AppConfig {
  /** "local": `chorus up` with the dev sign-in; "cloud": Cognito via Amplify Auth. */
  mode: "local" | "cloud";
  websocketUrl: string;
  /** Base URL of the REST API, without a trailing slash (`.../api` locally). */
  apiUrl: string;
  models: string[];
  defaultModel: string | null;
  defaultWorkspace: string | null;
  /** Answer modes the server supports (local: single only). */
  modes: Mode[];
  embeddingModel: string | null;
  embeddingModels: string[];
  stores: string[];
  region: string | null;
  userPoolId: string | null;
  userPoolClientId: string | null;
}

type Json = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x.length > 0) : [];

/** Validates and fills defaults; throws with a message that says which field is wrong. */
export function parseConfig(raw: unknown, origin = "http://127.0.0.1"): AppConfig {
  if (typeof raw !== "object" || raw === null) throw new Error("config.json is not a JSON object");
  const c = raw as Json;
  const mode = c.mode === "cloud" ? "cloud" : "local";
  const wsDefault = origin.replace(/^http/, "ws") + "/ws";
  const apiUrl = (str(c.apiUrl) ?? str(c.httpApiUrl) ?? `${origin}/api`).replace(/\/+$/, "");
  const models = strings(c.models);
  const modes = strings(c.modes).filter((m): m is Mode => (MODES as string[]).includes(m));
  const embeddingModel = str(c.embeddingModel);
  const config: AppConfig = {
    mode,
    websocketUrl: str(c.websocketUrl) ?? wsDefault,
    apiUrl,
    models,
    defaultModel: str(c.defaultModel) ?? models[0] ?? null,
    defaultWorkspace: str(c.defaultWorkspace),
    modes: modes.length > 0 ? modes : mode === "local" ? ["single"] : [...MODES],
    embeddingModel,
    embeddingModels: strings(c.embeddingModels).length
      ? strings(c.embeddingModels)
      : embeddingModel
        ? [embeddingModel]
        : [],
    stores: strings(c.stores),
    region: str(c.region),
    userPoolId: str(c.userPoolId),
    userPoolClientId: str(c.userPoolClientId),
  };
  if (mode === "cloud" && (!config.userPoolId || !config.userPoolClientId)) {
    throw new Error("config.json: cloud mode needs userPoolId and userPoolClientId");
  }
  return config;
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  const response = await fetchImpl("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`GET /config.json answered ${response.status}`);
  return parseConfig(await response.json(), window.location.origin);
}
