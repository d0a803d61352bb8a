import { useState, type FormEvent } from "react";
import type { AuthProvider, Session } from "../auth";
import type { AppConfig } from "../config";
import { ApiError, describeError } from "../errors";

export function SignIn(props: { auth: AuthProvider; config: AppConfig; onSignedIn: (s: Session) => void }) {
  const dev = props.auth.kind === "dev";
  const [user, setUser] = useState(dev ? "local" : "");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await props.auth.signIn(user, password));
    } catch (e) {
      const code = e instanceof ApiError ? e.code : "not_authorized";
      setError(`${describeError(code).title}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="center">
      <form className="card signin" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span className="logo" aria-hidden="true" /> chorus
        </h1>
        <p className="muted">
          {dev
            ? "Local mode: pick a user name. Sessions are kept apart per name; no password."
            : "Sign in with your chorus account."}
        </p>
        <label htmlFor="signin-user">{dev ? "User name" : "E-mail"}</label>
        <input
          id="signin-user"
          autoFocus
          required
          maxLength={128}
          autoComplete="username"
          pattern={dev ? "[A-Za-z0-9._\\-]+" : undefined}
          title={dev ? "Letters, digits, '-', '_' and '.'" : undefined}
          value={user}
          onChange={(e) => setUser(e.target.value)}
        />
        {!dev && (
          <>
            <label htmlFor="signin-password">Password</label>
            <input
              id="signin-password"
              type="password"
              required
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </>
        )}
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
