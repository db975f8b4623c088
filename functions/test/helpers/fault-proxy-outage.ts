/**
 * The fault proxy's targeted outage (see fault-proxy.ts): after a given
 * number of calls, Firestore is out of reach for a while, for every
 * connection at once. Every open connection is cut when it begins (calls in
 * flight fail with UNAVAILABLE); what a new connection finds depends on the
 * kind of outage:
 * - `unreachable`: it is closed as soon as it is accepted, as in a network
 *   partition or a restarting front end: every call fails with UNAVAILABLE.
 *   @google-cloud/firestore retries UNAVAILABLE by itself, commits included
 *   (for up to 10 minutes, with backoff), so a short outage only delays each
 *   call and the caller never sees it.
 * - `failing`: it reaches a front end that answers every call at once with
 *   DEADLINE_EXCEEDED, the answer of a server whose backend does not respond
 *   in time. The client library retries that for reads but not for commits:
 *   a write fails to its caller, which must retry it (or not) itself.
 * When the outage ends, connections to that front end are cut too, and new
 * connections reach the server again.
 */
import * as http2 from "node:http2";
import type * as net from "node:net";

export type OutageKind = "unreachable" | "failing";

/** One outage, counted from the moment it is armed. */
export interface OutagePlan {
  /**
   * Calls that pass untouched first. The outage begins when the client opens
   * the next call, which never reaches the server.
   */
  afterCalls: number;
  /** How long Firestore stays out of reach once the outage began, in ms. */
  durationMs: number;
  /** Default `unreachable`. */
  kind?: OutageKind;
  /**
   * Begin instead with the answer to the `afterCalls`-th call: that call
   * reaches the server and applies, and its answer is lost with the
   * connection (the client cannot know the outcome).
   */
  answerLost?: boolean;
}

export interface OutageStats {
  /** Client connections cut when the outage began. */
  cut: number;
  /** New connections closed at once (`unreachable`). */
  refused: number;
  /** Calls answered DEADLINE_EXCEEDED (`failing`). */
  failedCalls: number;
}

export interface Outage {
  /** Resolves with the time (epoch ms) the outage began. */
  started: Promise<number>;
  /** Resolves with the time the outage ended: connections reach the server again from then on. */
  ended: Promise<number>;
  stats(): OutageStats;
  /** Whether it has begun. */
  began(): boolean;
  /** Disarms it if it has not begun (`ended` then resolves, `started` never does). */
  cancel(): void;
}

interface ArmedOutage {
  plan: OutagePlan;
  callsLeft: number;
  /** With `answerLost`: its call went out, the outage begins with the answer. */
  awaitingAnswer: boolean;
  began: boolean;
  over: boolean;
  stats: OutageStats;
  markStarted: (at: number) => void;
  markEnded: (at: number) => void;
}

/** The one outage a test armed: counts calls up to its start, then takes every connection until its end. */
export class OutageSwitch {
  private current: ArmedOutage | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Connections held by the failing front end, cut when the outage ends. */
  private readonly held = new Set<net.Socket>();
  private readonly frontEnd = http2.createServer();

  /** `cutAll` destroys every open connection to the server and says how many client connections there were. */
  constructor(private readonly cutAll: () => number) {
    this.frontEnd.on("stream", (stream) => {
      if (this.current) this.current.stats.failedCalls++;
      stream.on("error", () => undefined);
      // A trailers-only answer: the call ends with its status, no message.
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "4", "grpc-message": "Deadline exceeded (fault proxy outage)" },
        { endStream: true },
      );
    });
    this.frontEnd.on("sessionError", () => undefined);
  }

  arm(plan: OutagePlan): Outage {
    if (this.current && !this.current.over) throw new Error("An outage is already armed or under way.");
    const least = plan.answerLost ? 1 : 0;
    if (!Number.isInteger(plan.afterCalls) || plan.afterCalls < least) {
      throw new Error(`outage: afterCalls must be an integer of at least ${least}, got ${plan.afterCalls}.`);
    }
    if (!(plan.durationMs > 0)) throw new Error(`outage: durationMs must be above 0, got ${plan.durationMs}.`);
    const stats: OutageStats = { cut: 0, refused: 0, failedCalls: 0 };
    let markStarted: (at: number) => void = () => undefined;
    let markEnded: (at: number) => void = () => undefined;
    const started = new Promise<number>((resolve) => (markStarted = resolve));
    const ended = new Promise<number>((resolve) => (markEnded = resolve));
    const outage: ArmedOutage = { plan, callsLeft: plan.afterCalls, awaitingAnswer: false, began: false, over: false, stats, markStarted, markEnded };
    this.current = outage;
    return {
      started,
      ended,
      stats: () => ({ ...stats }),
      began: () => outage.began,
      cancel: () => {
        if (this.current === outage && !outage.began) this.end();
      },
    };
  }

  /** A call the client opens: forwarded, lost (the outage begins with it), or forwarded with its answer to be lost. */
  call(): "forward" | "lost" | "answer-lost" {
    const outage = this.current;
    if (!outage || outage.began || outage.awaitingAnswer) return "forward";
    if (outage.callsLeft === 0) {
      this.begin();
      return "lost";
    }
    outage.callsLeft--;
    if (outage.callsLeft > 0 || !outage.plan.answerLost) return "forward";
    outage.awaitingAnswer = true;
    return "answer-lost";
  }

  begin(): void {
    const outage = this.current;
    if (!outage || outage.began) return;
    outage.began = true;
    outage.stats.cut = this.cutAll();
    outage.markStarted(Date.now());
    this.timer = setTimeout(() => this.end(), outage.plan.durationMs);
  }

  /** Takes a new connection while the outage lasts (closes it, or hands it to the failing front end); false otherwise. */
  takes(socket: net.Socket): boolean {
    const outage = this.current;
    if (!outage?.began || outage.over) return false;
    if (outage.plan.kind === "failing") {
      this.held.add(socket);
      socket.once("close", () => this.held.delete(socket));
      socket.on("error", () => undefined);
      this.frontEnd.emit("connection", socket);
    } else {
      outage.stats.refused++;
      socket.destroy();
    }
    return true;
  }

  close(): void {
    clearTimeout(this.timer);
    this.end();
    this.frontEnd.close();
  }

  private end(): void {
    const outage = this.current;
    for (const socket of this.held) socket.destroy();
    if (!outage || outage.over) return;
    outage.over = true;
    outage.markEnded(Date.now());
  }
}
