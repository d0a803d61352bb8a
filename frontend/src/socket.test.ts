import { describe, expect, it } from "vitest";
import type { ServerEvent } from "./protocol";
import { backoffDelay, ChatConnection, withToken, type ConnectionState, type SocketLike, type Timers } from "./socket";

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  receive(data: string) {
    this.onmessage?.({ data });
  }
}

class FakeTimers implements Timers {
  now = 0;
  private seq = 0;
  tasks = new Map<number, { at: number; fn: () => void; every?: number }>();
  setTimeout(fn: () => void, ms: number) {
    this.tasks.set(++this.seq, { at: this.now + ms, fn });
    return this.seq;
  }
  clearTimeout(h: unknown) {
    this.tasks.delete(h as number);
  }
  setInterval(fn: () => void, ms: number) {
    this.tasks.set(++this.seq, { at: this.now + ms, fn, every: ms });
    return this.seq;
  }
  clearInterval(h: unknown) {
    this.tasks.delete(h as number);
  }
  advance(ms: number) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.tasks.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, task] = due;
      this.now = task.at;
      if (task.every) task.at += task.every;
      else this.tasks.delete(id);
      task.fn();
    }
    this.now = end;
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup(token: string | null = "tok en") {
  const sockets: FakeSocket[] = [];
  const events: ServerEvent[] = [];
  const states: ConnectionState[] = [];
  const errors: string[] = [];
  const timers = new FakeTimers();
  const conn = new ChatConnection({
    url: "ws://127.0.0.1:8765/ws",
    getToken: async () => token,
    onEvent: (e) => events.push(e),
    onState: (s) => states.push(s),
    onProtocolError: (e) => errors.push(e.message),
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers,
    heartbeatMs: 30_000,
    minBackoffMs: 500,
    maxBackoffMs: 4000,
    random: () => 1,
  });
  return { conn, sockets, events, states, errors, timers };
}

describe("ChatConnection", () => {
  it("connects with the token in the query string", async () => {
    const { conn, sockets } = setup();
    conn.start();
    await flush();
    expect(sockets[0].url).toBe("ws://127.0.0.1:8765/ws?token=tok%20en");
  });

  it("connects without a token parameter when there is none", async () => {
    const { conn, sockets } = setup(null);
    conn.start();
    await flush();
    expect(sockets[0].url).toBe("ws://127.0.0.1:8765/ws");
  });

  it("reports open and hands parsed events to the listener", async () => {
    const { conn, sockets, events, states } = setup();
    conn.start();
    await flush();
    sockets[0].open();
    sockets[0].receive('{"type":"token","sessionId":"s","messageId":"m","model":"x","text":"hi"}');
    expect(states.at(-1)?.status).toBe("open");
    expect(events).toEqual([{ type: "token", sessionId: "s", messageId: "m", model: "x", text: "hi" }]);
  });

  it("reports a malformed frame without passing it on or closing", async () => {
    const { conn, sockets, events, errors } = setup();
    conn.start();
    await flush();
    sockets[0].open();
    sockets[0].receive("not json");
    expect(events).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(sockets[0].closed).toBe(false);
  });

  it("queues frames sent before the connection opens and flushes them on open", async () => {
    const { conn, sockets } = setup();
    conn.start();
    expect(conn.send("first")).toBe(false);
    await flush();
    sockets[0].open();
    expect(sockets[0].sent).toEqual(["first"]);
    expect(conn.send("second")).toBe(true);
    expect(sockets[0].sent).toEqual(["first", "second"]);
  });

  it("sends a heartbeat every 30 seconds while open", async () => {
    const { conn, sockets, timers } = setup();
    conn.start();
    await flush();
    sockets[0].open();
    timers.advance(90_000);
    expect(sockets[0].sent.filter((f) => f === '{"action":"heartbeat"}')).toHaveLength(3);
  });

  it("reconnects after a drop with exponential backoff capped at the maximum", async () => {
    const { conn, sockets, states, timers } = setup();
    conn.start();
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      sockets.at(-1)!.drop();
      const s = states.at(-1)!;
      expect(s.status).toBe("reconnecting");
      delays.push(s.retryInMs!);
      timers.advance(s.retryInMs!);
      await flush();
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(sockets).toHaveLength(6);
  });

  it("resets the backoff after a successful open and stops heartbeats while down", async () => {
    const { conn, sockets, states, timers } = setup();
    conn.start();
    await flush();
    sockets[0].drop();
    timers.advance(500);
    await flush();
    sockets[1].open();
    expect(states.at(-1)).toMatchObject({ status: "open", attempt: 0 });
    sockets[1].drop();
    expect(states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1, retryInMs: 500 });
    timers.advance(100);
    expect(sockets[1].sent).toEqual([]);
  });

  it("says the server refused the connection when it closes with 1008", async () => {
    const { conn, sockets, states } = setup();
    conn.start();
    await flush();
    sockets[0].drop(1008);
    expect(states.at(-1)?.reason).toMatch(/not authorised/);
  });

  it("retryNow reconnects without waiting for the timer", async () => {
    const { conn, sockets } = setup();
    conn.start();
    await flush();
    sockets[0].drop();
    conn.retryNow();
    await flush();
    expect(sockets).toHaveLength(2);
  });

  it("stop closes the socket and never reconnects", async () => {
    const { conn, sockets, states, timers } = setup();
    conn.start();
    await flush();
    sockets[0].open();
    conn.stop();
    expect(sockets[0].closed).toBe(true);
    timers.advance(60_000);
    await flush();
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)?.status).toBe("closed");
  });

  it("asks for a fresh token on every attempt", async () => {
    let n = 0;
    const sockets: FakeSocket[] = [];
    const timers = new FakeTimers();
    const conn = new ChatConnection({
      url: "ws://h/ws",
      getToken: async () => `t${++n}`,
      onEvent: () => undefined,
      socketFactory: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      timers,
      random: () => 1,
    });
    conn.start();
    await flush();
    sockets[0].drop();
    timers.advance(10_000);
    await flush();
    expect(sockets.map((s) => s.url)).toEqual(["ws://h/ws?token=t1", "ws://h/ws?token=t2"]);
  });
});

describe("helpers", () => {
  it("backoff doubles from the minimum, is capped, and jitters between half and all of it", () => {
    expect(backoffDelay(1, 500, 15000, 1)).toBe(500);
    expect(backoffDelay(3, 500, 15000, 1)).toBe(2000);
    expect(backoffDelay(20, 500, 15000, 1)).toBe(15000);
    expect(backoffDelay(3, 500, 15000, 0)).toBe(1000);
  });

  it("withToken appends to an existing query", () => {
    expect(withToken("wss://x/ws?a=1", "t")).toBe("wss://x/ws?a=1&token=t");
  });
});
