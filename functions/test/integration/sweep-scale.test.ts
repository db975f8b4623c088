/**
 * The sweep keeps up: a few thousand due documents are handled in one run,
 * overlapping runs never write a version they did not read, and a run that
 * spends its time budget says so and leaves the rest to the next run.
 */
import { Timestamp } from "firebase-admin/firestore";
import { LEASE_GRACE_MS } from "../../src/shared/budget";
import { runMaintenance } from "../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-sweep-scale";
const NOW = Date.now();

describeWithEmulator("the sweep at scale", () => {
  const db = emulatorFirestore(PROJECT);
  beforeEach(() => configureExtension(SWEEP_PARAMS));

  async function seed(count: number, delivery: (i: number) => Record<string, unknown>): Promise<void> {
    const writer = db.bulkWriter();
    for (let i = 0; i < count; i++) {
      void writer.set(db.doc(`mail/s${i}`), { to: "a@example.com", message: { subject: "x", text: "y" }, delivery: delivery(i) });
    }
    await writer.close();
  }

  const dueAt = (i: number) => NOW - 1000 - i;
  const due = (i: number) => ({ state: "PENDING", attempts: 0, nextAttemptTime: Timestamp.fromMillis(dueAt(i)) });
  // Past the lease's grace, when the sweep calls an attempt dead.
  const expired = (i: number) => ({ state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS - 1000 - i) });

  async function countWhere(field: string, value: unknown): Promise<number> {
    return (await db.collection("mail").where(field, "==", value).count().get()).data().count;
  }

  /**
   * How far back each seeded due mail's time moved, by count: a release
   * moves it a millisecond back (so that a mail whose claim never lands is
   * found again), so 1 is one release and 0 none.
   */
  async function releases(count: number): Promise<Record<number, number>> {
    const snapshot = await db.collection("mail").select("delivery.nextAttemptTime").get();
    const moved: Record<number, number> = {};
    for (const doc of snapshot.docs) {
      const match = /^s(\d+)$/.exec(doc.id);
      if (!match || Number(match[1]) >= count) continue;
      const by = dueAt(Number(match[1])) - doc.get("delivery.nextAttemptTime").toMillis();
      moved[by] = (moved[by] ?? 0) + 1;
    }
    return moved;
  }

  test("2,000 due mails and 500 expired leases are all handled in one run", async () => {
    await seed(2000, due);
    const writer = db.bulkWriter();
    for (let i = 0; i < 500; i++) void writer.set(db.doc(`mail/e${i}`), { to: "a@example.com", delivery: expired(i) });
    await writer.close();

    const report = await runMaintenance(afterLeases());
    expect(report).toMatchObject({ released: 2000, expired: 500, skipped: 0, truncated: false });
    expect(await releases(2000)).toEqual({ 1: 2000 });
    expect(await countWhere("delivery.state", "ERROR")).toBe(500);
  });

  test("two overlapping runs release every mail, each at most once per run, each write on the version it read", async () => {
    await seed(1000, due);
    const [a, b] = await Promise.all([runMaintenance(NOW), runMaintenance(NOW)]);
    // A released mail is still due until processQueue claims it (none does
    // here), so the later run may release it again: that costs one more
    // trigger, whose claim is conditional, never a second send. What must
    // hold: every mail released, no run releasing one twice, and every
    // release counted landed exactly once on the document.
    expect(a.released).toBeLessThanOrEqual(1000);
    expect(b.released).toBeLessThanOrEqual(1000);
    const moved = await releases(1000);
    expect(Object.keys(moved).map(Number).every((by) => by === 1 || by === 2)).toBe(true);
    expect((moved[1] ?? 0) + (moved[2] ?? 0)).toBe(1000);
    expect((moved[1] ?? 0) + 2 * (moved[2] ?? 0)).toBe(a.released + b.released);
  });

  test("a run out of time stops after its current page, says so, and the next run continues", async () => {
    await seed(250, due);
    const warn = jest.spyOn(functionsLogger, "warn");
    const first = await runMaintenance(NOW, { budgetMs: 0, pageSize: 100 });
    expect(first).toMatchObject({ released: 100, truncated: true });
    // The line the out-of-budget alert counts (docs/operations.md); the other scan found nothing and finished.
    const outOfTime = warn.mock.calls.filter(([, fields]) => (fields as { event?: string } | undefined)?.event === "sweep-out-of-budget");
    expect(outOfTime.map(([, fields]) => fields)).toEqual([{ event: "sweep-out-of-budget", code: "sweep-out-of-budget", field: "delivery.nextAttemptTime", mailCollection: "mail", pages: 1 }]);
    warn.mockRestore();
    // Nothing claims the first 100 here (no processQueue), so they are still due and released again.
    const second = await runMaintenance(NOW, { pageSize: 100 });
    expect(second).toMatchObject({ released: 250, truncated: false });
    expect(await releases(250)).toEqual({ 1: 150, 2: 100 });
  });
});
