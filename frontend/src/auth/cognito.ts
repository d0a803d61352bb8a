// Amplify Auth against the stack's Cognito user pool (cloud mode only; a lazy chunk).

import { Amplify } from "aws-amplify";
import { fetchAuthSession, getCurrentUser, signIn, signOut } from "aws-amplify/auth";
import type { AppConfig } from "../config";
import { ApiError } from "../errors";
import type { AuthProvider, Session } from "./index";

export class CognitoAuth implements AuthProvider {
  readonly kind = "cognito" as const;

  constructor(config: AppConfig) {
    Amplify.configure({
      Auth: {
        Cognito: {
          userPoolId: config.userPoolId ?? "",
          userPoolClientId: config.userPoolClientId ?? "",
          loginWith: { email: true },
        },
      },
    });
  }

  async current(): Promise<Session | null> {
    try {
      const user = await getCurrentUser();
      const session = await fetchAuthSession();
      // The HTTP API's JWT authorizer and the WebSocket authorizer accept the ID token
      // (its audience is the app client).
      const token = session.tokens?.idToken?.toString();
      return token ? { user: user.signInDetails?.loginId ?? user.username, token } : null;
    } catch {
      return null;
    }
  }

  async signIn(user: string, password?: string): Promise<Session> {
    try {
      const result = await signIn({ username: user, password });
      if (!result.isSignedIn) {
        throw new ApiError(
          "not_authorized",
          `Sign-in needs another step (${result.nextStep.signInStep}); finish it in the hosted UI.`,
        );
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError("not_authorized", (error as Error).message || "Sign-in failed.");
    }
    const session = await this.current();
    if (!session) throw new ApiError("not_authorized", "Signed in, but no token was issued.");
    return session;
  }

  async signOut(): Promise<void> {
    await signOut();
  }
}
