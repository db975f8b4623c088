/**
 * One simulated world: a virtual clock, an in-memory Firestore, a scripted
 * provider, and seeded actors that run the REAL handlers (processQueue's
 * handleMailWrite and maintainQueue's runMaintenance) against them. Every
 * Firestore call and every send waits for the scheduler, which decides, from
 * the seed alone, what happens next: which call is answered and how (in
 * time, late, failed, applied with its answer lost, retried silently by the
 * client library, or never because the instance died), which trigger event
 * is delivered (late, out of order, twice, again after a failed invocation),
 * when the sweep runs, and when a person writes RETRY or PENDING, edits or
 * deletes a mail. The same seed replays the same schedule. Some schedules
 * have a mail sent as one message per recipient (`separateMessages`).
 *
 * Invariants are checked as the schedule runs (invariants.ts). The world is
 * stepped in two phases: chaos (faults on), then calm (every call answered,
 * every send accepted, the sweep every minute), after which every mail must
 * be finished.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { Change } from "firebase-functions";
import { createAttachmentDownloader } from "../../src/attachments/download-attachments";
import { parseConfig, type Config } from "../../src/config";
import { createTemplateCache } from "../../src/mail/templates";
import { FIRESTORE_CALL_TIMEOUT_MS, FUNCTION_TIMEOUT_MS } from "../../src/shared/budget";
import { MailStore, type StoreTiming } from "../../src/delivery/store";
import { runMaintenance } from "../helpers/extension-env";
import { handleMailWrite, PROCESS_QUEUE_RETRIES, type MailWriteEvent } from "../../src/handlers/process-queue";
import type { LifecycleEvent } from "../../src/lifecycle/events";
import type { Runtime } from "../../src/delivery/runtime";
import { seededRandom } from "../helpers/seeded-random";
import { ModelFirestore, ModelSnapshot, statusError, type CommitRecord, type ModelIo, type RpcDescription } from "./model-firestore";
import { ScriptedProvider, type PendingSend, type SendEnding } from "./scripted-provider";
import { Invariants, type Violation } from "./invariants";

export interface WorldOptions {
  seed: number;
  /** MAX_ATTEMPTS of the instance. */
  maxAttempts: number;
  /** Mail documents created at the start. */
  mails: number;
  /** Steps with faults on. */
  chaosSteps: number;
  /** Writes a person may make (RETRY, PENDING, edits, deletes) during chaos. */
  personActions: number;
  /** When above 0, the first mail has `separateMessages` with this many recipients (more than one batch). */
  separateRecipients?: number;
  /** Keep a readable trace of every step (for replaying one seed). */
  trace?: boolean;
}

export interface Invocation {
  id: number;
  kind: "trigger" | "sweep";
  trigger?: TriggerEvent;
  startedAt: number;
  deadlineAt: number;
  dead: boolean;
  finished: boolean;
  /** Whether the invocation ended by throwing (the platform then retries it, if the trigger asks for retries). */
  failed: boolean;
}

export interface TriggerEvent {
  id: string;
  record: CommitRecord;
  /** Deliveries so far. */
  deliveries: number;
}

interface PendingRpc {
  id: number;
  owner: Invocation;
  op: RpcDescription;
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  startedAt: number;
}

interface PendingSendOp {
  owner: Invocation;
  send: PendingSend;
}

interface Timer {
  at: number;
  owner?: Invocation;
  fire: () => void;
}

/** The client library gives one call this long before DEADLINE_EXCEEDED. */
const CALL_TIMEOUT_MS = FIRESTORE_CALL_TIMEOUT_MS;
/** After chaos, how long (virtual) every mail has to finish. */
const CALM_BOUND_MS = 30 * 60_000;
const MAX_STEPS = 5_000;

const owners = new AsyncLocalStorage<Invocation>();

/**
 * The module object itself (not an import wrapper), so that the randomness the
 * code draws from it (attempt ids, nonces) can be seeded for the schedule.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = require("node:crypto") as typeof import("node:crypto");

export class World implements ModelIo {
  clock = 1_800_000_000_000;
  readonly rng: () => number;
  readonly db: ModelFirestore;
  readonly provider: ScriptedProvider;
  readonly invariants: Invariants;
  readonly config: Config;
  readonly trace: string[] = [];
  readonly mailPaths: string[] = [];
  private readonly runtime: Runtime;
  private readonly store: MailStore;
  private pendingRpcs: PendingRpc[] = [];
  private pendingSends: PendingSendOp[] = [];
  private timers: Timer[] = [];
  private triggers: TriggerEvent[] = [];
  readonly invocations: Invocation[] = [];
  private nextId = 1;
  private calm = false;
  private personActionsLeft: number;
  /** Whether a fault (a failed call, a lost answer, a crash) happened: then events may be missing, never doubled. */
  faulted = false;

  constructor(readonly options: WorldOptions) {
    this.rng = seededRandom(options.seed);
    this.personActionsLeft = options.personActions;
    this.db = new ModelFirestore({
      io: this,
      now: () => this.clock,
      projectId: "demo-simulation",
      onCommit: (record) => this.committed(record),
    });
    this.config = parseConfig({
      SMTP_CONNECTION_URI: "smtp://user@smtp.example.com:587",
      SMTP_PASSWORD: "simulated-secret",
      DEFAULT_FROM: "sender@example.com",
      MAIL_COLLECTION: "mail",
      MAX_ATTEMPTS: String(options.maxAttempts),
      RETRY_BACKOFF_SECONDS: "1",
      LOCATION: "us-central1",
    });
    const timing: StoreTiming = {
      now: () => this.clock,
      sleep: (ms) => new Promise<void>((resolve) => this.timer(ms, resolve)),
      random: this.rng,
    };
    this.store = new MailStore(this.db as unknown as Firestore, timing);
    this.invariants = new Invariants(this);
    this.provider = new ScriptedProvider({
      now: () => this.clock,
      owner: () => owners.getStore()?.id ?? 0,
      started: (record) => this.invariants.sendStarted(record),
      wait: (send) => {
        const owner = owners.getStore();
        if (!owner || owner.dead) return;
        this.pendingSends.push({ owner, send });
      },
    });
    this.runtime = {
      config: () => this.config,
      store: () => this.store,
      transport: () => this.provider.transport(),
      download: createAttachmentDownloader(),
      templates: createTemplateCache(),
      lifecycle: {
        enabled: () => true,
        publish: async (type: LifecycleEvent, data) => this.invariants.published(type, data.path, data.state),
      },
    };
  }

  // ---- ModelIo: every Firestore call of an invocation waits for the scheduler.

  call<T>(op: RpcDescription, run: () => T): Promise<T> {
    const owner = owners.getStore();
    // A person's or a client's write: applied at once, as the scheduler's own step.
    if (!owner) return Promise.resolve().then(run);
    if (owner.dead) return new Promise<T>(() => undefined);
    return new Promise<T>((resolve, reject) => {
      this.pendingRpcs.push({
        id: this.nextId++,
        owner,
        op,
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
        startedAt: this.clock,
      });
    });
  }

  private timer(ms: number, fire: () => void): void {
    const owner = owners.getStore();
    if (owner?.dead) return;
    this.timers.push({ at: this.clock + Math.max(0, ms), owner, fire });
  }

  private committed(record: CommitRecord): void {
    if (this.options.trace) {
      const state = (snapshot?: ModelSnapshot) => {
        const delivery = snapshot?.data()?.delivery as Record<string, unknown> | undefined;
        if (!snapshot?.exists) return "(none)";
        const lease = delivery?.leaseExpireTime instanceof Timestamp ? ` lease ${delivery.leaseExpireTime.toMillis() - 1_800_000_000_000}` : "";
        return `${String(delivery?.state ?? "-")}${lease}`;
      };
      this.log(`  ${record.path}: ${state(record.before)} → ${state(record.after)}`);
    }
    this.invariants.committed(record);
    if (!record.path.startsWith("mail/")) return;
    this.triggers.push({ id: `event-${this.nextId++}`, record, deliveries: 0 });
  }

  // ---- The schedule.

  async run(): Promise<Violation | undefined> {
    const realNow = Date.now;
    const realRandom = Math.random;
    const realRandomInt = crypto.randomInt;
    const realRandomBytes = crypto.randomBytes;
    const realStackLimit = Error.stackTraceLimit;
    // Errors are thrown and caught by the thousand per schedule (injected
    // faults, refused preconditions); their stacks are read only when a trace is.
    if (!this.options.trace) Error.stackTraceLimit = 0;
    Date.now = () => this.clock;
    Math.random = this.rng;
    const mutableCrypto = crypto as unknown as Record<string, unknown>;
    mutableCrypto.randomInt = ((min: number, max?: number) => {
      const [lo, hi] = max === undefined ? [0, min] : [min, max];
      return lo + Math.floor(this.rng() * (hi - lo));
    }) as typeof crypto.randomInt;
    mutableCrypto.randomBytes = ((size: number) => {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = Math.floor(this.rng() * 256);
      return bytes;
    }) as unknown as typeof crypto.randomBytes;
    try {
      return await this.schedule();
    } catch (error) {
      return this.invariants.violation("world", `the simulation itself failed: ${error instanceof Error ? error.stack : String(error)}`);
    } finally {
      Date.now = realNow;
      Error.stackTraceLimit = realStackLimit;
      Math.random = realRandom;
      mutableCrypto.randomInt = realRandomInt;
      mutableCrypto.randomBytes = realRandomBytes;
    }
  }

  private async schedule(): Promise<Violation | undefined> {
    for (let i = 0; i < this.options.mails; i++) {
      const path = `mail/m${i}`;
      this.mailPaths.push(path);
      const data: Record<string, unknown> = { to: "user@example.com", message: { subject: path, text: "Hello" } };
      const separate = i === 0 ? (this.options.separateRecipients ?? 0) : 0;
      if (separate > 0) Object.assign(data, { to: Array.from({ length: separate }, (_, n) => `r${n}@example.com`), separateMessages: true });
      if (this.rng() < 0.15) data.sendAt = Timestamp.fromMillis(this.clock + Math.floor(this.rng() * 30_000));
      await this.db.doc(path).set(data);
    }
    let steps = 0;
    for (; steps < this.options.chaosSteps; steps++) {
      await this.settle();
      if (this.invariants.failed) return this.invariants.failed;
      if (!(await this.chaosStep())) break;
    }
    this.calm = true;
    this.log("--- calm ---");
    const calmEnds = this.clock + CALM_BOUND_MS;
    let nextSweep = this.clock;
    for (; steps < MAX_STEPS; steps++) {
      await this.settle();
      if (this.invariants.failed) return this.invariants.failed;
      if (this.pendingRpcs.length > 0) {
        await this.completeRpc(this.pendingRpcs[0], "ok");
      } else if (this.pendingSends.length > 0) {
        this.completeSend(this.pendingSends[0], "accept");
      } else if (this.triggers.length > 0) {
        this.deliver(this.triggers[0], false);
      } else {
        const running = this.invocations.filter((inv) => !inv.finished && !inv.dead);
        if (running.length === 0 && this.timers.length === 0 && (this.allFinished() || this.clock > calmEnds)) break;
        if (this.clock >= nextSweep) {
          this.sweep();
          nextSweep = this.clock + 60_000;
        } else {
          await this.advanceTo(Math.min(nextSweep, ...this.timers.map((t) => t.at)));
        }
      }
    }
    await this.settle();
    return this.invariants.failed ?? this.invariants.atEnd();
  }

  private allFinished(): boolean {
    return this.mailPaths.every((path) => {
      const state = this.peekData(path)?.delivery as { state?: unknown } | undefined;
      return !this.peekData(path) || state?.state === "SUCCESS" || state?.state === "ERROR";
    });
  }

  /** One seeded step with faults on; false when nothing is left to do. */
  private async chaosStep(): Promise<boolean> {
    const choices: Array<[number, () => void | Promise<void>]> = [];
    if (this.pendingRpcs.length > 0) choices.push([40, () => this.completeRpc(this.pick(this.pendingRpcs), this.rpcFate())]);
    if (this.pendingSends.length > 0) choices.push([25, () => this.completeSend(this.pick(this.pendingSends), this.sendFate())]);
    if (this.triggers.length > 0) choices.push([25, () => this.deliver(this.pick(this.triggers), this.rng() < 0.1)]);
    choices.push([6, () => this.advanceBy()]);
    choices.push([4, () => this.sweep()]);
    if (this.personActionsLeft > 0) choices.push([4, () => this.personActs()]);
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.rng() * total;
    for (const [weight, act] of choices) {
      roll -= weight;
      if (roll < 0) {
        await act();
        return true;
      }
    }
    return true;
  }

  private pick<T>(items: T[]): T {
    return items[Math.floor(this.rng() * items.length)];
  }

  private rpcFate(): RpcFate {
    return this.draw(RPC_FATES);
  }

  private sendFate(): SendEnding | "crash" {
    return this.draw(SEND_FATES);
  }

  /** The first value whose cumulative bound one draw falls under (the last bound is 1). */
  private draw<T>(table: ReadonlyArray<readonly [number, T]>): T {
    const r = this.rng();
    return (table.find(([bound]) => r < bound) ?? table[table.length - 1])[1];
  }

  private async completeRpc(rpc: PendingRpc, fate: RpcFate): Promise<void> {
    this.pendingRpcs = this.pendingRpcs.filter((p) => p !== rpc);
    if (fate === "slow") {
      // Answered later, within the call's own timeout; whatever falls due meanwhile happens first.
      await this.advanceTo(this.clock + Math.floor(this.rng() * 15_000));
      fate = "ok";
    }
    if (fate === "stalled") {
      // An outage: the client library retries the call by itself, inside the
      // one call the code made, for minutes; it lands late, and lands even
      // if the invocation that made it timed out meanwhile (the instance lives on).
      await this.advanceTo(this.clock + 20_000 + Math.floor(this.rng() * 260_000));
      if (rpc.owner.dead) {
        this.log(`${rpc.op.kind} ${rpc.op.paths.join(",")} by #${rpc.owner.id}: lands after its invocation ended`);
        if (rpc.op.kind === "commit" || rpc.op.kind === "bulkWrite") this.applyLate(rpc);
        return;
      }
      fate = "ok";
    }
    // The function timed out while the call was out: nobody is left to hear the answer.
    if (rpc.owner.dead) return;
    this.log(`${rpc.op.kind} ${rpc.op.paths.join(",")} by #${rpc.owner.id}: ${fate}`);
    if (fate !== "ok") this.faulted = true;
    const answer = (run: () => unknown) => {
      try {
        rpc.resolve(run());
      } catch (error) {
        rpc.reject(error);
      }
    };
    const applyQuietly = () => {
      try {
        rpc.run();
      } catch {
        // Applied or refused: the answer is lost either way.
      }
    };
    switch (fate) {
      case "ok":
        return answer(rpc.run);
      case "fail":
        return rpc.reject(statusError(this.rng() < 0.5 ? 14 : 4, "simulated outage"));
      case "applied-answer-lost":
        applyQuietly();
        return rpc.reject(statusError(this.rng() < 0.5 ? 14 : 4, "simulated lost answer"));
      case "silent-retry":
        // The client library retries a commit whose answer was lost, without saying so.
        if (rpc.op.kind === "commit" || rpc.op.kind === "bulkWrite") applyQuietly();
        return answer(rpc.run);
      case "crash":
        return this.kill(rpc.owner, "crash before the call");
      case "applied-then-crash":
        applyQuietly();
        return this.kill(rpc.owner, "crash after the call applied");
    }
  }

  /** A write that lands with nobody left to hear it. */
  private applyLate(rpc: PendingRpc): void {
    this.faulted = true;
    try {
      rpc.run();
    } catch {
      // Refused (its precondition failed): nothing landed.
    }
  }

  private completeSend(op: PendingSendOp, fate: SendEnding | "crash"): void {
    this.pendingSends = this.pendingSends.filter((p) => p !== op);
    this.log(`send #${op.send.record.id} of ${op.send.record.mailPath} by #${op.owner.id}: ${fate}`);
    if (fate === "crash") {
      this.faulted = true;
      ScriptedProvider.crash(op.send, this.clock, this.rng() < 0.5);
      this.kill(op.owner, "crash while sending");
      return;
    }
    if (fate.startsWith("timeout")) this.clock = Math.max(this.clock, op.send.record.deadlineAt);
    ScriptedProvider.settle(op.send, fate, this.clock);
  }

  private deliver(trigger: TriggerEvent, keepForDuplicate: boolean): void {
    trigger.deliveries++;
    if (!keepForDuplicate) this.triggers = this.triggers.filter((t) => t !== trigger);
    const invocation = this.invocation("trigger", trigger);
    this.log(`deliver ${trigger.id} (${trigger.record.path}, delivery ${trigger.deliveries}) as #${invocation.id}`);
    const event = this.eventFor(trigger);
    void owners.run(invocation, () =>
      handleMailWrite(event, this.runtime).then(
        () => this.finish(invocation, false),
        (error) => this.finish(invocation, true, error),
      ),
    );
  }

  private sweep(): void {
    const invocation = this.invocation("sweep");
    this.log(`sweep #${invocation.id}`);
    void owners.run(invocation, () =>
      runMaintenance(this.clock, {}, this.runtime).then(
        () => this.finish(invocation, false),
        (error) => this.finish(invocation, true, error),
      ),
    );
  }

  private invocation(kind: Invocation["kind"], trigger?: TriggerEvent): Invocation {
    const invocation: Invocation = {
      id: this.nextId++,
      kind,
      trigger,
      startedAt: this.clock,
      deadlineAt: this.clock + FUNCTION_TIMEOUT_MS,
      dead: false,
      finished: false,
      failed: false,
    };
    this.invocations.push(invocation);
    return invocation;
  }

  private finish(invocation: Invocation, failed: boolean, error?: unknown): void {
    if (invocation.dead) return;
    invocation.finished = true;
    invocation.failed = failed;
    this.log(`#${invocation.id} ${failed ? `threw: ${String(error)}` : "returned"}`);
    if (failed) this.faulted = true;
    if (failed && invocation.trigger) this.retryTrigger(invocation.trigger);
  }

  /** The instance died: its calls are never answered, its timers never fire, its sends end. */
  private kill(invocation: Invocation, why: string): void {
    if (invocation.dead || invocation.finished) return;
    invocation.dead = true;
    this.faulted = true;
    this.log(`#${invocation.id} dies (${why})`);
    this.pendingRpcs = this.pendingRpcs.filter((p) => p.owner !== invocation);
    this.timers = this.timers.filter((t) => t.owner !== invocation);
    for (const op of this.pendingSends.filter((p) => p.owner === invocation)) {
      ScriptedProvider.crash(op.send, this.clock, this.rng() < 0.5);
    }
    this.pendingSends = this.pendingSends.filter((p) => p.owner !== invocation);
    if (invocation.trigger) this.retryTrigger(invocation.trigger);
  }

  /** With a retry policy, the platform delivers the event of a failed or timed-out invocation again. */
  private retryTrigger(trigger: TriggerEvent): void {
    if (!PROCESS_QUEUE_RETRIES) return;
    if (!this.triggers.includes(trigger)) this.triggers.push(trigger);
  }

  private eventFor(trigger: TriggerEvent): MailWriteEvent {
    const { record } = trigger;
    const missing = () => new ModelSnapshot(this.db.doc(record.path), undefined, undefined, undefined, Timestamp.fromMillis(this.clock));
    const before = record.before ?? missing();
    const after = record.after ?? missing();
    return {
      id: trigger.id,
      database: "(default)",
      params: { documentId: record.path.slice(record.path.lastIndexOf("/") + 1) },
      data: new Change(before, after),
    } as unknown as MailWriteEvent;
  }

  /** A person at the console: RETRY or PENDING on `delivery.state`, an edit, or a delete. */
  private async personActs(): Promise<void> {
    this.personActionsLeft--;
    const path = this.pick(this.mailPaths);
    const data = this.peekData(path);
    if (!data) return;
    const delivery = data.delivery as { state?: unknown } | undefined;
    const r = this.rng();
    if (r < 0.08) {
      this.log(`person deletes ${path}`);
      this.invariants.deleted(path);
      await this.db.doc(path).delete();
    } else if (r < 0.25) {
      this.log(`person edits ${path}`);
      await this.db.doc(path).update({ "message.text": `Edited at ${this.clock}` });
    } else if (delivery?.state !== undefined) {
      const state = r < 0.7 ? "RETRY" : "PENDING";
      this.log(`person writes ${state} on ${path} (was ${String(delivery.state)})`);
      this.invariants.requested(path, String(delivery.state));
      await this.db.doc(path).update({ "delivery.state": state });
    }
  }

  // ---- Time.

  private async advanceBy(): Promise<void> {
    const r = this.rng();
    const step = r < 0.5 ? Math.floor(this.rng() * 5_000) : r < 0.85 ? Math.floor(this.rng() * 70_000) : Math.floor(this.rng() * 200_000);
    await this.advanceTo(this.clock + step);
  }

  /**
   * Moves the clock to `target`, handling in time order everything that falls
   * due on the way: timers, sends and calls reaching their deadlines, and
   * invocations reaching their function timeout.
   */
  private async advanceTo(target: number): Promise<void> {
    for (;;) {
      await this.settle();
      const due = this.nextDue();
      if (due === undefined || due.at > target) break;
      this.clock = Math.max(this.clock, due.at);
      due.act();
    }
    this.clock = Math.max(this.clock, target);
  }

  private nextDue(): { at: number; act: () => void } | undefined {
    const candidates: Array<{ at: number; act: () => void }> = [];
    for (const timer of this.timers) {
      candidates.push({
        at: timer.at,
        act: () => {
          this.timers = this.timers.filter((t) => t !== timer);
          timer.fire();
        },
      });
    }
    for (const op of this.pendingSends) {
      const fates: SendEnding[] = this.calm ? ["timeout-before-handover"] : ["timeout-before-handover", "timeout-after-handover", "timeout-after-accept"];
      candidates.push({ at: op.send.record.deadlineAt, act: () => this.completeSend(op, this.pick(fates)) });
    }
    for (const rpc of this.pendingRpcs) {
      candidates.push({
        at: rpc.startedAt + CALL_TIMEOUT_MS,
        act: () => void this.completeRpc(rpc, this.calm || this.rng() < 0.5 ? "fail" : "applied-answer-lost"),
      });
    }
    for (const invocation of this.invocations) {
      if (!invocation.dead && !invocation.finished) {
        candidates.push({ at: invocation.deadlineAt, act: () => this.kill(invocation, "function timeout") });
      }
    }
    let best: { at: number; act: () => void } | undefined;
    for (const candidate of candidates) if (!best || candidate.at < best.at) best = candidate;
    return best;
  }

  /** Lets every actor run until it waits on the scheduler again. */
  private async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** A mail's fields as stored now, read without a call (for the invariants). */
  peekData(path: string): Record<string, unknown> | undefined {
    return this.db.peek(path).data();
  }

  log(line: string): void {
    if (this.options.trace) this.trace.push(`${String(this.clock - 1_800_000_000_000).padStart(7)} ms  ${line}`);
  }
}

type RpcFate = "ok" | "slow" | "stalled" | "fail" | "applied-answer-lost" | "silent-retry" | "crash" | "applied-then-crash";

/** How an RPC ends, by cumulative probability. */
const RPC_FATES: ReadonlyArray<readonly [number, RpcFate]> = [
  [0.7, "ok"],
  [0.76, "slow"],
  [0.78, "stalled"],
  [0.84, "fail"],
  [0.9, "applied-answer-lost"],
  [0.95, "silent-retry"],
  [0.975, "crash"],
  [1, "applied-then-crash"],
];

/** How a send ends, by cumulative probability. */
const SEND_FATES: ReadonlyArray<readonly [number, SendEnding | "crash"]> = [
  [0.5, "accept"],
  [0.57, "reject"],
  [0.64, "defer"],
  [0.71, "connection-lost"],
  [0.78, "timeout-before-handover"],
  [0.86, "timeout-after-handover"],
  [0.94, "timeout-after-accept"],
  [1, "crash"],
];
