// Who the user is. Locally: the dev sign-in of `chorus up` (a signed token from
// POST /api/auth/dev-login). In the cloud: Amplify Auth against Cognito, loaded lazily so the
// local app never downloads it.

import type { AppConfig } from "../config";
import { ApiError } from "../errors";

export interface Session {
  user: string;
  token: string;
}

export interface AuthProvider {
  readonly kind: "dev" | "cognito";
  /** The signed-in session, refreshed if needed; null when signed out. */
  current(): Promise<Session | null>;
  signIn(user: string, password?: string): Promise<Session>;
  signOut(): Promise<void>;
}

const STORAGE_KEY = "chorus.devSession";

export class DevAuth implements AuthProvider {
  readonly kind = "dev" as const;

  constructor(
    private readonly apiUrl: string,
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> = localStorage,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  async current(): Promise<Session | null> {
    const raw = this.storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      const s = JSON.parse(raw) as Session & { expiresAt?: number };
      if (s.expiresAt && s.expiresAt * 1000 < Date.now()) return null;
      return s.user && s.token ? { user: s.user, token: s.token } : null;
    } catch {
      return null;
    }
  }

  async signIn(user: string): Promise<Session> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.apiUrl}/auth/dev-login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: user.trim() }),
      });
    } catch {
      throw new ApiError("network_error", "Cannot reach the chorus server.");
    }
    const body = (await response.json().catch(() => null)) as
      | { token?: string; user?: string; expiresAt?: number; error?: { code: string; message: string } }
      | null;
    if (!response.ok || !body?.token) {
      throw new ApiError(
        body?.error?.code ?? `http_${response.status}`,
        body?.error?.message ?? "Sign-in failed.",
        response.status,
      );
    }
    const session = { user: body.user ?? user, token: body.token };
    this.storage.setItem(STORAGE_KEY, JSON.stringify({ ...session, expiresAt: body.expiresAt }));
    return session;
  }

  async signOut(): Promise<void> {
    this.storage.removeItem(STORAGE_KEY);
  }
}

export async function createAuth(config: AppConfig): Promise<AuthProvider> {
  if (config.mode === "local") return new DevAuth(config.apiUrl);
  const { CognitoAuth } = await import("./cognito");
  return new CognitoAuth(config);
}
