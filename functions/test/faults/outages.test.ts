/**
 * Firestore out of reach for 20 s at each step of a mail's way: right after
 * the client's create, after the PENDING write, after a claim that applied
 * but whose answer was lost, after the sweep released a scheduled mail.
 * Every mail must end SUCCESS, sent once, in one attempt.
 *
 * The function's Firestore client goes through the fault proxy; the test's
 * own client reads the emulator directly. Events reach the real exported
 * processQueue as with the trigger's retry policy on (an invocation that
 * throws gets its event again 1 s, 2 s, 4 s… later), and the sweep runs at
 * real time once a mail's due time has passed: a released mail is claimed
 * only if it is really due.
 *
 * Each step meets both kinds of outage (fault-proxy-outage.ts):
 * - `unreachable` (connections refused): the client library retries every
 *   call by itself, so each call made during the outage just lasts until
 *   it ends, and the invocation carries on;
 * - `failing` (every call answered DEADLINE_EXCEEDED): writes fail to the
 *   extension, which must recover by itself: by reading back a write of
 *   unknown outcome, by throwing so that the event comes again, or by the
 *   sweep, which looks at a mail left PENDING once its watch time passes.
 */
import { deleteApp, getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, Timestamp, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { CLAIM_WATCH_MS, LEASE_GRACE_MS, leaseEnd } from "../../src/shared/budget";
import { toMillis } from "../../src/shared/timestamps";
import type { OperationCounts } from "../../src/delivery/store";
import { runMaintenance } from "../helpers/extension-env";
import { processQueue } from "../helpers/extension-env";
import { testRuntime } from "../helpers/extension-env";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { startFaultProxy, type FaultProxy, type Outage, type OutageKind, type OutagePlan, type OutageStats } from "../helpers/fault-proxy";
import { clearFirestore } from "../helpers/firestore-emulator";
import { DEFAULT_FROM } from "../helpers/mail-harness";
import { describeVersion, newEventLog, RetryingTrigger, timeline, type EventLog, type TimedLine } from "../helpers/retrying-trigger";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { report } from "./figures";
import { sendsById, TERMINAL } from "./mail-traffic";

const PROJECT = "demo-outages";
const OUTAGE_MS = 20_000;
/** How far ahead the scheduled mail's `sendAt` is. */
const SEND_AT_AHEAD_MS = 3_000;
/** A mail not finished this long after its create is left as it is, and the test fails. */
const GIVE_UP_MS = CLAIM_WATCH_MS + 3 * 60_000;

/**
 * How a mail came through its outage:
 * - `in-call`: no invocation threw and no sweep was needed (beyond the one
 *   that releases a scheduled mail): the calls made during the outage ended
 *   well once it was over, or a write of unknown outcome was read back;
 * - `redelivery`: an invocation threw, and its event, delivered again, sent the mail;
 * - `sweep`: an invocation threw, and only the sweep, once the mail's watch
 *   time had passed, brought it back.
 */
type Recovery = "in-call" | "redelivery" | "sweep";

interface Step {
  id: string;
  title: string;
  /** Armed before the create's event, or (`afterRelease`) once the sweep released the scheduled mail. */
  outage: Omit<OutagePlan, "kind" | "durationMs">;
  afterRelease?: boolean;
  /** What the code says must bring the mail through a `failing` outage here. */
  failingRecovery: Recovery;
}

const STEPS: Step[] = [
  // The create's invocation's calls: its PENDING write, then its claim.
  {
    id: "pending",
    title: "after PENDING: the claim is lost",
    outage: { afterCalls: 1 },
    // The claim gives up and the invocation throws; the create's event, again,
    // loses its PENDING write (the document moved on) but recognises the
    // PENDING its first delivery wrote (its id comes from the event's id),
    // and claims. (Before, it took the sweep, after the 2-minute watch.)
    failingRecovery: "redelivery",
  },
  { id: "create", title: "right after the create: the PENDING write is lost", outage: { afterCalls: 0 }, failingRecovery: "redelivery" },
  // The claim's write fails to the store, which reads back and finds its own claim.
  { id: "claim", title: "a claim applied, its answer lost", outage: { afterCalls: 2, answerLost: true }, failingRecovery: "in-call" },
  {
    id: "release",
    title: "after the sweep released a scheduled mail: its claim is lost",
    outage: { afterCalls: 0 },
    afterRelease: true,
    failingRecovery: "redelivery",
  },
];

// The failing kind first: its invocations throw and wait for their events
// to come again, while the other scenarios take their turns.
const SCENARIOS = (["failing", "unreachable"] as OutageKind[]).flatMap((kind) =>
  STEPS.map((step) => ({ kind, ...step, recovery: kind === "failing" ? step.failingRecovery : ("in-call" as Recovery) })),
);
type Scenario = (typeof SCENARIOS)[number];

interface Outcome {
  doc?: DocumentSnapshot;
  sends: number;
  log: EventLog;
  /** The outage and the sweeps, beside the log's invocations. */
  notes: TimedLine[];
  outage?: OutageStats & { beganAt?: number };
  /** Sweeps that released this mail after its outage had begun. */
  sweepsAfterOutage: number;
  /** The calls of the function's store during this scenario's turns. */
  store: OperationCounts;
  failure?: unknown;
}

describeWithEmulator(`Firestore out of reach for ${OUTAGE_MS / 1000} s`, () => {
  let proxy: FaultProxy;
  let sink: SmtpSink;
  const outcomes = new Map<string, Outcome>();
  const directHost = emulatorHost!;

  beforeAll(async () => {
    const [host, port] = directHost.split(":");
    proxy = await startFaultProxy({ host, port: Number(port) });
    sink = await startSmtpSink();
    process.env.GCLOUD_PROJECT = PROJECT;
    await clearFirestore(directHost, PROJECT);
    // The default app is the function's; its Firestore client is built on
    // first use, through the proxy. The test's own client reads directly.
    initializeApp({ projectId: PROJECT });
    const db = getFirestore(initializeApp({ projectId: PROJECT }, "verification"));
    process.env.FIRESTORE_EMULATOR_HOST = proxy.host;
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM });

    // All scenarios at once, so that one's wait for the sweep overlaps the
    // others' outages. Each takes the proxy (and the function's one Firestore
    // client) for itself whenever it acts, so that outages and call counts
    // never mix.
    const world: World = { db, proxy, trigger: new RetryingTrigger(db, processQueue), turns: new Turns() };
    await Promise.all(SCENARIOS.map(async (scenario) => outcomes.set(mailId(scenario), await runScenario(scenario, world))));
    const sends = sendsById(sink.messages.map((m) => m.envelope.rcptTo));
    for (const [id, outcome] of outcomes) outcome.sends = sends.get(id) ?? 0;
  }, 12 * 60_000);

  afterAll(async () => {
    process.env.FIRESTORE_EMULATOR_HOST = directHost;
    configureExtension({});
    await Promise.all(getApps().map((app) => deleteApp(app)));
    await proxy?.close();
    await sink?.close();
  });

  test.each(SCENARIOS)("$kind, $title: SUCCESS, sent once, one attempt (recovered $recovery)", (scenario) => {
    const outcome = outcomes.get(mailId(scenario))!;
    const { doc, log, store } = outcome;
    report(`${scenario.kind} outage of ${OUTAGE_MS / 1000} s, ${scenario.title}`, [
      ...timeline([...outcome.notes, ...log.lines]),
      `${log.events} events, ${log.invocations} invocations, ${log.threw} threw, ${log.gaveUp} given up; ` +
        `the function's store: ${store.writes} write calls (${store.lostWrites} lost), ${store.reads} reads, ${store.transactions} transactions`,
      `ended ${doc ? describeVersion(doc) : "unread"}, attempts ${doc?.get("delivery.attempts")}, sent ${outcome.sends} time(s)` +
        (doc ? `, ${seconds(finishedAfter(doc))} after the create; recovered ${recoveryOf(outcome)}` : ""),
      ...(doc?.get("delivery.error") ? [`delivery.error: ${String(doc.get("delivery.error")).slice(0, 200)}`] : []),
      ...(outcome.failure ? [`the scenario failed: ${String(outcome.failure)}`] : []),
    ]);
    expect(outcome.failure).toBeUndefined();
    // The outage really happened, and took something from the function.
    expect(outcome.outage?.beganAt).toBeDefined();
    expect(outcome.outage!.cut + outcome.outage!.refused + outcome.outage!.failedCalls).toBeGreaterThan(0);
    expect(doc?.get("delivery.state")).toBe("SUCCESS");
    expect(doc?.get("delivery.attempts")).toBe(1);
    expect(outcome.sends).toBe(1);
    expect(log.gaveUp).toBe(0);
    expect(recoveryOf(outcome)).toBe(scenario.recovery);
  });
});

interface World {
  db: Firestore;
  proxy: FaultProxy;
  trigger: RetryingTrigger;
  turns: Turns;
}

function mailId(scenario: Scenario): string {
  return `${scenario.kind}-${scenario.id}`;
}

function recoveryOf(outcome: Outcome): Recovery {
  if (outcome.log.threw === 0 && outcome.sweepsAfterOutage === 0) return "in-call";
  return outcome.sweepsAfterOutage === 0 ? "redelivery" : "sweep";
}

/**
 * Creates the scenario's mail, arms its outage, delivers the events that
 * follow, then, while the mail is not finished, waits for the time the
 * sweep looks at it, sweeps at real time and delivers the events again.
 */
async function runScenario(scenario: Scenario, world: World): Promise<Outcome> {
  const { db, proxy, trigger, turns } = world;
  const path = `mail/${mailId(scenario)}`;
  const log = newEventLog();
  const store: OperationCounts = { writes: 0, lostWrites: 0, reads: 0, transactions: 0 };
  const outcome: Outcome = { sends: 0, log, notes: [], sweepsAfterOutage: 0, store };
  const note = (text: string) => outcome.notes.push({ at: Date.now() - log.startedAt, text });

  let armed: Outage | undefined;
  const arm = () => {
    const outage = proxy.outage({ ...scenario.outage, kind: scenario.kind, durationMs: OUTAGE_MS });
    armed = outage;
    const stats: NonNullable<Outcome["outage"]> = { ...outage.stats() };
    outcome.outage = stats;
    void outage.started.then((beganAt) => {
      stats.beganAt = beganAt;
      note("outage began");
    });
    void outage.ended.then(() => {
      Object.assign(stats, outage.stats());
      if (outage.began()) note(`outage ended (${describeOutage(stats)})`);
    });
  };
  /** One turn: the scenario's own calls through the proxy, counted; the proxy handed on with no outage armed or running. */
  const act = (work: () => Promise<void>) =>
    turns.take(async () => {
      const counts = testRuntime.store("(default)").counts;
      const before = { ...counts };
      try {
        await work();
      } finally {
        armed?.cancel();
        await armed?.ended;
        armed = undefined;
        for (const key of Object.keys(store) as Array<keyof OperationCounts>) store[key] += counts[key] - before[key];
      }
    });

  try {
    await act(async () => {
      log.startedAt = Date.now();
      const ref = db.doc(path);
      const before = await ref.get();
      const sendAt = scenario.afterRelease ? { sendAt: Timestamp.fromMillis(Date.now() + SEND_AT_AHEAD_MS) } : {};
      await ref.create({ to: `${mailId(scenario)}@example.com`, message: { subject: scenario.title, text: "t" }, ...sendAt });
      if (!scenario.afterRelease) arm();
      await trigger.settle(path, before, log);
    });
    for (;;) {
      const doc = await db.doc(path).get();
      outcome.doc = doc;
      if (TERMINAL.has(doc.get("delivery.state"))) break;
      const due = sweepLooksAt(doc);
      if (due === undefined || due > log.startedAt + GIVE_UP_MS) {
        note(`left ${describeVersion(doc)}, with nothing due to look at it in time`);
        break;
      }
      note(`left ${describeVersion(doc)}; the sweep looks at it from +${seconds(due - log.startedAt)}`);
      await sleep(due + 1 - Date.now());
      await act(async () => {
        const before = await db.doc(path).get();
        const swept = await runMaintenance(Date.now());
        const after = await db.doc(path).get();
        const released = !after.updateTime?.isEqual(before.updateTime!);
        note(`sweep (whole queue: released ${swept.released}, expired ${swept.expired}): ${released ? "released this mail" : "left this mail"}`);
        if (released && outcome.outage?.beganAt) outcome.sweepsAfterOutage++;
        if (released && scenario.afterRelease && !outcome.outage) arm();
        await trigger.settle(path, before, log);
      });
    }
  } catch (error) {
    outcome.failure = error;
  }
  return outcome;
}

/** When the sweep acts on this document: its due time if PENDING, the end of its lease's grace if leased. */
function sweepLooksAt(doc: DocumentSnapshot): number | undefined {
  const lease = toMillis(doc.get("delivery.leaseExpireTime"));
  if (lease !== undefined) return leaseEnd(lease, doc.updateTime?.toMillis()) + LEASE_GRACE_MS;
  if (doc.get("delivery.state") === "PENDING") return toMillis(doc.get("delivery.nextAttemptTime"));
  return undefined;
}

function describeOutage(stats: OutageStats): string {
  return `${stats.cut} connection(s) cut, ${stats.refused} refused, ${stats.failedCalls} call(s) answered DEADLINE_EXCEEDED`;
}

function finishedAfter(doc: DocumentSnapshot): number {
  const created = doc.createTime?.toMillis() ?? 0;
  return (doc.updateTime?.toMillis() ?? created) - created;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** One scenario acts at a time, in the order they asked. */
class Turns {
  private last: Promise<unknown> = Promise.resolve();

  take<T>(work: () => Promise<T>): Promise<T> {
    const mine = this.last.then(work);
    this.last = mine.catch(() => undefined);
    return mine;
  }
}
