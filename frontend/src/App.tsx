// Start-up: read /config.json, pick the sign-in (dev locally, Cognito in the cloud), then chat.

import { useCallback, useEffect, useState } from "react";
import { createAuth, type AuthProvider, type Session } from "./auth";
import { ChatApp } from "./components/ChatApp";
import { SignIn } from "./components/SignIn";
import { loadConfig, type AppConfig } from "./config";

type Boot =
  | { phase: "loading" }
  | { phase: "failed"; message: string }
  | { phase: "ready"; config: AppConfig; auth: AuthProvider; session: Session | null };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: "loading" });

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const config = await loadConfig();
        const auth = await createAuth(config);
        const session = await auth.current();
        if (!cancelled) setBoot({ phase: "ready", config, auth, session });
      } catch (error) {
        if (!cancelled) setBoot({ phase: "failed", message: (error as Error).message });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  const signedIn = useCallback(
    (session: Session) => setBoot((b) => (b.phase === "ready" ? { ...b, session } : b)),
    [],
  );
  const signOut = useCallback(async () => {
    if (boot.phase !== "ready") return;
    await boot.auth.signOut().catch(() => undefined);
    setBoot({ ...boot, session: null });
  }, [boot]);

  if (boot.phase === "loading") {
    return (
      <main className="center" aria-busy="true">
        <p className="muted">Loading chorus…</p>
      </main>
    );
  }
  if (boot.phase === "failed") {
    return (
      <main className="center">
        <div className="card" role="alert">
          <h1>chorus cannot start</h1>
          <p>{boot.message}</p>
          <p className="muted">The app reads its settings from /config.json; check that the server is running.</p>
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      </main>
    );
  }
  if (!boot.session) return <SignIn auth={boot.auth} config={boot.config} onSignedIn={signedIn} />;
  return <ChatApp key={boot.session.user} config={boot.config} auth={boot.auth} session={boot.session} onSignOut={signOut} />;
}
