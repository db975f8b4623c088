/**
 * The sweep holds bounded memory whatever the size of the mails: it runs in
 * a process whose heap could not hold one page of them whole, over mails of
 * 500 KB, and still handles every due one in a single run — also when older
 * due documents of same-named collections outside a wildcard MAIL_COLLECTION
 * come first in its queries.
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import type { MaintenanceReport } from "../../src/handlers/maintain-queue";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

const PROJECT = "demo-sweep-memory";
const NOW = Date.now();
/** The sweep's process: about 35 MB of it is taken by the code it loads. */
const HEAP_MB = 80;
const BODY = "x".repeat(500_000);
/** Leases that ended long enough ago for the sweep to call them dead (LEASE_GRACE_MS is 100 s). */
const LEASE_ENDED_MS = NOW - 10 * 60_000;

const due = (ms: number) => ({ state: "PENDING", attempts: 0, nextAttemptTime: Timestamp.fromMillis(ms) });
const expired = (ms: number) => ({ state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(ms) });

/** Ten plain writes at a time: a BulkWriter's batch of twenty such mails is larger than the emulator accepts. */
async function seed(db: Firestore, documents: Array<[string, Record<string, unknown>]>): Promise<void> {
  for (let i = 0; i < documents.length; i += 10) {
    await Promise.all(
      documents.slice(i, i + 10).map(([path, delivery]) => db.doc(path).set({ to: "a@example.com", message: { subject: "big", html: BODY }, delivery })),
    );
  }
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  report?: MaintenanceReport;
  /** stderr without the extension's log lines. */
  stderr: string;
}

/** One sweep in a process of its own with a HEAP_MB heap; the extension's params come from process.env. */
function sweepInSmallHeap(): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, "../helpers/run-maintenance.ts"), [String(afterLeases())], {
      execArgv: [`--max-old-space-size=${HEAP_MB}`, "-r", "ts-node/register/transpile-only"],
      env: process.env,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    let report: MaintenanceReport | undefined;
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.on("message", (message) => (report = message as MaintenanceReport));
    child.on("error", reject);
    // What is not a log line of the extension (those are JSON): a crash's message, such as running out of heap.
    const crash = () => stderr.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("{")).join("\n").slice(0, 600);
    child.on("exit", (code, signal) => resolve({ code, signal, report, stderr: crash() }));
  });
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describeWithEmulator("the sweep over mails of 500 KB under a small heap", () => {
  const db = emulatorFirestore(PROJECT);
  beforeEach(() => configureExtension(SWEEP_PARAMS));

  test("100 due mails and 100 expired leases, 100 MB in all, are handled in one run", async () => {
    await seed(db, [
      ...range(100).map((i): [string, Record<string, unknown>] => [`mail/due${i}`, due(NOW - 1000 - i)]),
      ...range(100).map((i): [string, Record<string, unknown>] => [`mail/dead${i}`, expired(LEASE_ENDED_MS - i)]),
    ]);

    const run = await sweepInSmallHeap();
    expect(run).toMatchObject({ code: 0, signal: null, stderr: "", report: { released: 100, expired: 100, skipped: 0, truncated: false } });
    // A released mail's due time moves a millisecond back.
    const released = await db.collection("mail").where("delivery.nextAttemptTime", "!=", null).select("delivery.nextAttemptTime").get();
    expect(released.docs.map((doc) => `${doc.id} ${doc.get("delivery.nextAttemptTime").toMillis() - NOW}`).sort()).toEqual(
      range(100).map((i) => `due${i} ${-1001 - i}`).sort(),
    );
    const ended = await db.collection("mail").where("delivery.state", "==", "ERROR").count().get();
    expect(ended.data().count).toBe(100);
  }, 180_000);

  test("a wildcard collection with older due documents outside the pattern: the matching ones are handled in one run", async () => {
    configureExtension({ ...SWEEP_PARAMS, MAIL_COLLECTION: "users/{uid}/mail" });
    // Documents of another `mail` collection, due and expired before any of the extension's.
    await seed(db, [
      ...range(60).map((i): [string, Record<string, unknown>] => [`teams/t${i}/mail/due`, due(NOW - 60_000 - i)]),
      ...range(60).map((i): [string, Record<string, unknown>] => [`teams/t${i}/mail/dead`, expired(LEASE_ENDED_MS - 60_000 - i)]),
      ...range(60).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/due`, due(NOW - 1000 - i)]),
      ...range(60).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/dead`, expired(LEASE_ENDED_MS - i)]),
    ]);

    const run = await sweepInSmallHeap();
    expect(run).toMatchObject({ code: 0, signal: null, stderr: "", report: { released: 60, expired: 60, skipped: 0, truncated: false } });
    const ended = await db.collectionGroup("mail").where("delivery.state", "==", "ERROR").get();
    expect(ended.docs.map((doc) => doc.ref.path).sort()).toEqual(range(60).map((i) => `users/u${i}/mail/dead`).sort());
    // The other collection's documents are never written.
    const stranger = await db.doc("teams/t0/mail/due").get();
    expect(stranger.get("delivery.nextAttemptTime").toMillis()).toBe(NOW - 60_000);
    expect(stranger.updateTime?.isEqual(stranger.createTime!)).toBe(true);
  }, 180_000);
});
