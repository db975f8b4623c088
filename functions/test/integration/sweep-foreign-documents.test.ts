/**
 * A wildcard MAIL_COLLECTION (`users/{uid}/mail`) is swept with
 * collection-group queries on `mail`, which also return the documents of
 * same-named collections outside the pattern (`teams/t1/mail/x`). The sweep
 * never writes them; it pages past them within a run, and a scan that meets
 * nothing but them for FOREIGN_PAGE_LIMIT pages stops and says so once.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { runMaintenance } from "../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

// The module object itself (not an import's copy of it), so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-sweep-foreign";
const NOW = Date.now();
const LEASE_ENDED_MS = NOW - 10 * 60_000;

const due = (ms: number) => ({ state: "PENDING", attempts: 0, nextAttemptTime: Timestamp.fromMillis(ms) });
const expired = (ms: number) => ({ state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(ms) });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function seed(db: Firestore, documents: Array<[string, Record<string, unknown>]>): Promise<void> {
  const writer = db.bulkWriter();
  for (const [path, delivery] of documents) void writer.set(db.doc(path), { to: "a@example.com", message: { subject: "s", text: "t" }, delivery });
  await writer.close();
}

describeWithEmulator("the sweep of a wildcard collection beside same-named collections", () => {
  const db = emulatorFirestore(PROJECT);

  beforeEach(() => configureExtension({ ...SWEEP_PARAMS, MAIL_COLLECTION: "users/{uid}/mail" }));
  afterEach(() => jest.restoreAllMocks());

  test("older due documents outside the pattern fill several pages: one run passes them and handles the matching ones", async () => {
    await seed(db, [
      ...range(35).map((i): [string, Record<string, unknown>] => [`teams/t${i}/mail/due`, due(NOW - 60_000 - i)]),
      ...range(35).map((i): [string, Record<string, unknown>] => [`teams/t${i}/mail/dead`, expired(LEASE_ENDED_MS - 60_000 - i)]),
      ...range(5).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/due`, due(NOW - 1000 - i)]),
      ...range(5).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/dead`, expired(LEASE_ENDED_MS - i)]),
    ]);

    const report = await runMaintenance(afterLeases(), { pageSize: 10 });
    expect(report).toMatchObject({ released: 5, expired: 5, foreign: 70, skipped: 0, truncated: false });
    const foreign = await db.collectionGroup("mail").get();
    for (const doc of foreign.docs.filter((d) => d.ref.path.startsWith("teams/"))) {
      expect(doc.updateTime.isEqual(doc.createTime)).toBe(true);
    }
  });

  test("a scan that reads only foreign documents for FOREIGN_PAGE_LIMIT pages stops, logs once which collection, and the other scan goes on", async () => {
    const error = jest.spyOn(functionsLogger, "error");
    await seed(db, [
      ...range(50).map((i): [string, Record<string, unknown>] => [`teams/t${i}/mail/due`, due(NOW - 60_000 - i)]),
      ...range(5).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/due`, due(NOW - 1000 - i)]),
      ...range(25).map((i): [string, Record<string, unknown>] => [`users/u${i}/mail/dead`, expired(LEASE_ENDED_MS - i)]),
    ]);

    const report = await runMaintenance(afterLeases(), { pageSize: 10, foreignPageLimit: 3 });
    expect(report).toMatchObject({ released: 0, expired: 25, foreign: 30, truncated: true });
    const lines = error.mock.calls.filter(([line]) => String(line).includes("outside MAIL_COLLECTION"));
    expect(lines).toHaveLength(1);
    expect(lines[0][0]).toContain("delivery.nextAttemptTime");
    expect(lines[0][1]).toMatchObject({ field: "delivery.nextAttemptTime", mailCollection: "users/{uid}/mail", read: 30 });
    expect(String((lines[0][1] as { example?: unknown }).example)).toMatch(/^teams\/t\d+\/mail$/);
  });
});
