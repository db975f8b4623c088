/**
 * A fault-injecting TCP proxy in front of the Firestore emulator, for tests
 * of what the function does when its connection to Firestore misbehaves.
 *
 * Firestore's client speaks gRPC over one long-lived HTTP/2 connection, so
 * "a fault on X% of connections" only means something if connections come
 * and go. The proxy therefore reads the HTTP/2 frames passing through it and
 * retires every connection after a random number of calls (`callsPerConnection`)
 * with a graceful GOAWAY, the way Google's front ends and gRPC servers cap a
 * connection's age: calls in flight finish, the client opens a new connection
 * for the next ones. Retirement itself loses nothing.
 *
 * Each new connection draws, from a seeded PRNG, whether it is faulty
 * (`rate`) and how:
 * - `refuse`: accepted and closed at once, before a byte is exchanged;
 * - `reset`: both sides cut at a chosen call, either before the request
 *   reaches the server (request lost) or once the server starts answering
 *   it (request applied, answer lost: the outcome is unknown to the client);
 * - `stall`: at a chosen call nothing moves either way for `stallMs`, then
 *   traffic resumes (Infinity: until the client gives up and closes);
 * - `latency`: every frame either way is held for `latencyMs`.
 * The sequence of choices repeats for a seed; their timing follows the traffic.
 *
 * Apart from the plan, a test can arm one targeted outage (`outage`, see
 * fault-proxy-outage.ts): after a given number of calls, Firestore is out of
 * reach for a while, for every connection at once.
 */
import * as net from "node:net";
import { OutageSwitch, type Outage, type OutagePlan } from "./fault-proxy-outage";
import { seededRandom } from "./seeded-random";

export type { Outage, OutageKind, OutagePlan, OutageStats } from "./fault-proxy-outage";

export type FaultKind = "refuse" | "reset" | "stall" | "latency";

export interface FaultPlan {
  /** PRNG seed: the same seed gives the same choice for the n-th connection. */
  seed: number;
  /** Share of new connections that get a fault, 0..1. */
  rate: number;
  /** The faults to choose from, equally likely. Default: all four. */
  kinds?: FaultKind[];
  /** A connection is retired (GOAWAY) after a number of calls drawn from this range. */
  callsPerConnection?: [number, number];
  /** How long a stall lasts, in ms. */
  stallMs?: [number, number];
  /** Delay added to every frame of a slow connection, in ms. */
  latencyMs?: [number, number];
}

export interface FaultStats {
  connections: number;
  /** Faults drawn, by kind. */
  drawn: Record<FaultKind, number>;
  /** Faults that took effect (a reset or stall needs its chosen call to happen on the connection). */
  applied: Record<FaultKind, number>;
  /** Calls (HTTP/2 streams opened by the client) forwarded to the server. */
  calls: number;
  /** Connections retired with a GOAWAY. */
  retired: number;
}

export interface FaultProxy {
  /** `127.0.0.1:port`, for FIRESTORE_EMULATOR_HOST. */
  host: string;
  /** Replaces the plan (and reseeds) for connections opened from now on; resets the stats. */
  setPlan(plan: FaultPlan): void;
  /** Arms an outage (one at a time); the plan's faults go on beside it. */
  outage(plan: OutagePlan): Outage;
  stats(): FaultStats;
  /** One line describing the plan and what happened, for a test's report. */
  describe(): string;
  close(): Promise<void>;
}

const DEFAULTS = {
  kinds: ["refuse", "reset", "stall", "latency"] as FaultKind[],
  callsPerConnection: [4, 24] as [number, number],
  stallMs: [1_000, 8_000] as [number, number],
  latencyMs: [20, 200] as [number, number],
};

const FRAME_HEADER = 9;
const TYPE_HEADERS = 0x1;
const TYPE_GOAWAY = 0x7;
/** What an HTTP/2 client sends before its first frame. */
const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let plan: Required<FaultPlan> = { seed: 1, rate: 0, ...DEFAULTS };
  let random = seededRandom(plan.seed);
  let stats = emptyStats();
  const open = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  const outages = new OutageSwitch(() => {
    const cut = clients.size;
    for (const socket of open) socket.destroy();
    return cut;
  });

  const between = ([min, max]: [number, number]): number => min + (max - min) * random();
  const server = net.createServer((client) => {
    if (outages.takes(client)) return;
    stats.connections++;
    open.add(client);
    clients.add(client);
    client.once("close", () => {
      open.delete(client);
      clients.delete(client);
    });
    client.on("error", () => undefined);
    // Every draw happens here, in connection order, so a seed gives a repeatable sequence.
    const faulty = random() < plan.rate;
    const kind = faulty ? plan.kinds[Math.floor(random() * plan.kinds.length)] : undefined;
    const retireAfter = Math.round(between(plan.callsPerConnection));
    const faultAt = 1 + Math.floor(random() * retireAfter);
    const answerLost = random() < 0.5;
    const stallMs = between(plan.stallMs);
    const latencyMs = kind === "latency" ? between(plan.latencyMs) : 0;
    if (kind) stats.drawn[kind]++;
    if (kind === "refuse") {
      stats.applied.refuse++;
      client.destroy();
      return;
    }
    if (kind === "latency") stats.applied.latency++;
    const upstream = net.connect(target.port, target.host);
    open.add(upstream);
    upstream.once("close", () => open.delete(upstream));
    upstream.on("error", () => undefined);
    new Connection(client, upstream, {
      retireAfter,
      latencyMs,
      reset: kind === "reset" ? { at: faultAt, answerLost } : undefined,
      stall: kind === "stall" ? { at: faultAt, ms: stallMs } : undefined,
      stats: () => stats,
      outages,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    host: `127.0.0.1:${port}`,
    setPlan(next) {
      plan = { ...DEFAULTS, ...next };
      random = seededRandom(plan.seed);
      stats = emptyStats();
    },
    outage: (next) => outages.arm(next),
    stats: () => structuredClone(stats),
    describe() {
      const s = stats;
      const list = (counts: Record<FaultKind, number>) => plan.kinds.map((k) => `${k} ${counts[k]}`).join(", ");
      const [minCalls, maxCalls] = plan.callsPerConnection;
      return (
        `seed ${plan.seed}, fault rate ${plan.rate}: ${s.connections} connections (each retired by GOAWAY after ` +
        `${minCalls}-${maxCalls} calls; ${s.retired} retired), ${s.calls} calls; faults drawn: ${list(s.drawn)}; ` +
        `took effect: ${list(s.applied)}`
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        outages.close();
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function emptyStats(): FaultStats {
  const zero = (): Record<FaultKind, number> => ({ refuse: 0, reset: 0, stall: 0, latency: 0 });
  return { connections: 0, drawn: zero(), applied: zero(), calls: 0, retired: 0 };
}

interface ConnectionFaults {
  retireAfter: number;
  latencyMs: number;
  reset?: { at: number; answerLost: boolean };
  stall?: { at: number; ms: number };
  /** The stats of the plan in force (setPlan may replace them while this connection lives). */
  stats: () => FaultStats;
  outages: OutageSwitch;
}

/** One proxied connection: frames client → server and back, with this connection's fault. */
class Connection {
  private readonly toServer: Pipe;
  private readonly toClient: Pipe;
  private calls = 0;
  private highestStream = 0;
  /** Set once the GOAWAY is sent: client streams above it never reach the server. */
  private lastStream: number | undefined;
  /** The stream whose answer the reset waits for. */
  private doomedStream: number | undefined;
  /** The stream whose answer begins the armed outage. */
  private outageStream: number | undefined;
  private dead = false;

  constructor(
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly faults: ConnectionFaults,
  ) {
    this.toServer = new Pipe(upstream, faults.latencyMs);
    this.toClient = new Pipe(client, faults.latencyMs);
    const fromClient = new FrameReader(
      CLIENT_PREFACE.length,
      (frame) => this.clientFrame(frame),
      (preface) => this.toServer.write(preface),
    );
    const fromServer = new FrameReader(0, (frame) => this.serverFrame(frame));
    client.on("data", (chunk: Buffer) => fromClient.push(chunk));
    upstream.on("data", (chunk: Buffer) => fromServer.push(chunk));
    client.once("close", () => this.kill());
    upstream.once("close", () => this.kill());
  }

  private clientFrame(frame: Buffer): void {
    if (this.dead) return;
    const stream = streamId(frame);
    if (this.lastStream !== undefined && stream > this.lastStream) return; // Refused by the GOAWAY.
    if (frame[3] === TYPE_HEADERS && stream > this.highestStream) {
      const fate = this.faults.outages.call();
      // The outage began with this call: every connection, this one too, is being cut.
      if (fate === "lost") return this.kill();
      if (fate === "answer-lost") this.outageStream = stream;
      this.highestStream = stream;
      this.calls++;
      if (this.faults.reset?.at === this.calls) {
        this.faults.stats().applied.reset++;
        if (!this.faults.reset.answerLost) return this.kill();
        this.doomedStream = stream;
      }
      if (this.faults.stall?.at === this.calls) {
        this.faults.stats().applied.stall++;
        const until = Date.now() + this.faults.stall.ms;
        this.toServer.pauseUntil(until);
        this.toClient.pauseUntil(until);
      }
      this.faults.stats().calls++;
    }
    this.toServer.write(frame);
    if (this.calls >= this.faults.retireAfter && this.lastStream === undefined) this.retire();
  }

  private serverFrame(frame: Buffer): void {
    if (this.dead) return;
    if (this.doomedStream !== undefined && streamId(frame) === this.doomedStream) return this.kill();
    // The server answers a call with HEADERS once it has carried it out: the write applied.
    if (this.outageStream === streamId(frame) && frame[3] === TYPE_HEADERS) {
      this.faults.outages.begin();
      return this.kill();
    }
    this.toClient.write(frame);
  }

  /** A graceful GOAWAY: every stream the client opened so far is answered; it must open a new connection for more. */
  private retire(): void {
    this.lastStream = this.highestStream;
    this.faults.stats().retired++;
    const goaway = Buffer.alloc(FRAME_HEADER + 8);
    goaway.writeUIntBE(8, 0, 3);
    goaway[3] = TYPE_GOAWAY;
    goaway.writeUInt32BE(this.lastStream, FRAME_HEADER);
    // The error code (NO_ERROR) is already zero.
    this.toClient.write(goaway);
  }

  private kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.toServer.drop();
    this.toClient.drop();
    this.client.destroy();
    this.upstream.destroy();
  }
}

function streamId(frame: Buffer): number {
  return frame.readUInt32BE(5) & 0x7fffffff;
}

/** Splits a byte stream into whole HTTP/2 frames, after skipping a preface of `skip` bytes. */
class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(
    private skip: number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onPreface: (bytes: Buffer) => void = () => undefined,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.skip > 0) {
      const preface = this.buffer.subarray(0, this.skip);
      this.buffer = this.buffer.subarray(preface.length);
      this.skip -= preface.length;
      if (preface.length > 0) this.onPreface(preface);
    }
    while (this.buffer.length >= FRAME_HEADER) {
      const size = FRAME_HEADER + this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < size) break;
      this.onFrame(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
    }
  }
}

/** One direction of a connection: writes in order, after an optional delay or until a pause ends. */
class Pipe {
  private readonly queue: Array<{ at: number; bytes: Buffer }> = [];
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly delayMs: number,
  ) {}

  write(bytes: Buffer): void {
    const at = Date.now() + this.delayMs;
    if (this.queue.length === 0 && at <= Date.now() && this.pausedUntil <= Date.now()) {
      this.socket.write(bytes);
      return;
    }
    // Copied: the reader's buffer may be reused before this is written.
    this.queue.push({ at, bytes: Buffer.from(bytes) });
    this.schedule();
  }

  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.schedule();
  }

  drop(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const due = Math.max(this.queue[0].at, this.pausedUntil);
    if (!Number.isFinite(due)) return; // Stalled for good: only a close ends it.
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - Date.now()));
  }

  private flush(): void {
    this.timer = undefined;
    const now = Date.now();
    if (this.pausedUntil > now) return this.schedule();
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const next = this.queue.shift();
      if (next && !this.socket.destroyed) this.socket.write(next.bytes);
    }
    this.schedule();
  }
}
