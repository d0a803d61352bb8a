// The chat WebSocket: connects with the caller's token, sends a heartbeat every 30 s, reconnects
// with exponential backoff (and jitter) after a drop, and hands parsed events to one listener.

import { heartbeatFrame, parseServerEvent, ProtocolError, type ServerEvent } from "./protocol";

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface ConnectionState {
  status: ConnectionStatus;
  /** Attempts since the last successful open. */
  attempt: number;
  /** When reconnecting: milliseconds until the next attempt. */
  retryInMs: number | null;
  /** Why the last connection ended, for people. */
  reason: string | null;
}

/** The subset of the browser WebSocket this client uses (a fake one drives the tests). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface ChatConnectionOptions {
  url: string;
  /** The token for `?token=`; called before every attempt so a refreshed token is used. */
  getToken?: () => Promise<string | null>;
  onEvent: (event: ServerEvent) => void;
  onState?: (state: ConnectionState) => void;
  /** A frame that was not a valid event (reported, never thrown). */
  onProtocolError?: (error: ProtocolError) => void;
  socketFactory?: SocketFactory;
  timers?: Timers;
  heartbeatMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** 0..1 → multiplier of the delay; default Math.random (full jitter between 50 % and 100 %). */
  random?: () => number;
}

const OPEN = 1;

export function backoffDelay(attempt: number, minMs: number, maxMs: number, r: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * r));
}

export function withToken(url: string, token: string | null): string {
  if (!token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(h as ReturnType<typeof setInterval>),
};

export class ChatConnection {
  private socket: SocketLike | null = null;
  private heartbeat: unknown = null;
  private retryTimer: unknown = null;
  private stopped = true;
  private generation = 0;
  private outbox: string[] = [];
  private readonly timers: Timers;
  private readonly factory: SocketFactory;
  state: ConnectionState = { status: "idle", attempt: 0, retryInMs: null, reason: null };

  constructor(private readonly options: ChatConnectionOptions) {
    this.timers = options.timers ?? defaultTimers;
    this.factory =
      options.socketFactory ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  }

  /** Start (or restart) connecting. */
  start(): void {
    this.stopped = false;
    this.clearRetry();
    void this.open();
  }

  /** Close for good (sign-out, page leave); no reconnect. */
  stop(): void {
    this.stopped = true;
    this.generation += 1;
    this.clearRetry();
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, "client closed");
    }
    this.setState({ status: "closed", retryInMs: null, reason: null });
  }

  /** Reconnect now instead of waiting for the backoff timer. */
  retryNow(): void {
    if (this.stopped || this.state.status === "open" || this.state.status === "connecting") return;
    this.clearRetry();
    void this.open();
  }

  get isOpen(): boolean {
    return this.state.status === "open";
  }

  /** Send a frame now, or queue it until the connection opens. Returns whether it went out now. */
  send(frame: string): boolean {
    if (this.socket && this.socket.readyState === OPEN && this.state.status === "open") {
      this.socket.send(frame);
      return true;
    }
    this.outbox.push(frame);
    return false;
  }

  private setState(patch: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...patch };
    this.options.onState?.(this.state);
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.setState({
      status: this.state.attempt === 0 ? "connecting" : "reconnecting",
      retryInMs: null,
    });
    let token: string | null = null;
    try {
      token = (await this.options.getToken?.()) ?? null;
    } catch {
      token = null;
    }
    if (generation !== this.generation || this.stopped) return;
    let socket: SocketLike;
    try {
      socket = this.factory(withToken(this.options.url, token));
    } catch (error) {
      this.dropped(String(error));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.setState({ status: "open", attempt: 0, retryInMs: null, reason: null });
      this.startHeartbeat();
      const queued = this.outbox;
      this.outbox = [];
      for (const frame of queued) socket.send(frame);
    };
    socket.onmessage = (message) => {
      if (generation !== this.generation) return;
      const data = typeof message.data === "string" ? message.data : String(message.data);
      let event: ServerEvent;
      try {
        event = parseServerEvent(data);
      } catch (error) {
        if (error instanceof ProtocolError) this.options.onProtocolError?.(error);
        return;
      }
      this.options.onEvent(event);
    };
    socket.onerror = () => {
      /* the close event that follows carries what we need */
    };
    socket.onclose = (ev) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.stopHeartbeat();
      const reason =
        ev.code === 1008
          ? "the server refused the connection (not authorised)"
          : ev.code === 1009
            ? "a message was too large"
            : ev.reason || `connection closed (code ${ev.code})`;
      this.dropped(reason);
    };
  }

  private dropped(reason: string): void {
    if (this.stopped) return;
    const attempt = this.state.attempt + 1;
    const delay = backoffDelay(
      attempt,
      this.options.minBackoffMs ?? 500,
      this.options.maxBackoffMs ?? 15_000,
      (this.options.random ?? Math.random)(),
    );
    this.setState({ status: "reconnecting", attempt, retryInMs: delay, reason });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = this.timers.setInterval(() => {
      if (this.socket && this.socket.readyState === OPEN) this.socket.send(heartbeatFrame());
    }, this.options.heartbeatMs ?? 30_000);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) this.timers.clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
