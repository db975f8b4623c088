/**
 * The sweep keeps up: a few thousand due documents are handled in one run,
 * overlapping runs handle each document once, and a run that spends its time
 * budget says so and leaves the rest to the next run.
 */
import { LEASE_GRACE_MS } from "../../src/delivery/budget";
import { Timestamp } from "firebase-admin/firestore";
import { runMaintenance } from "../../src/handlers/maintain-queue";
import { describeWithEmulator } from "../helpers/emulator-env";
import { sweepFirestore } from "../helpers/sweep-firestore";

const PROJECT = "demo-sweep-scale";
const NOW = Date.now();

describeWithEmulator("the sweep at scale", () => {
  const db = sweepFirestore(PROJECT);

  async function seed(count: number, delivery: (i: number) => Record<string, unknown>): Promise<void> {
    const writer = db.bulkWriter();
    for (let i = 0; i < count; i++) {
      void writer.set(db.doc(`mail/s${i}`), { to: "a@example.com", message: { subject: "x", text: "y" }, delivery: delivery(i) });
    }
    await writer.close();
  }

  const due = (i: number) => ({ state: "PENDING", attempts: 0, nextAttemptTime: Timestamp.fromMillis(NOW - 1000 - i) });
  const expired = (i: number) => ({ state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS - 1000 - i) });

  async function countWhere(field: string, value: unknown): Promise<number> {
    return (await db.collection("mail").where(field, "==", value).count().get()).data().count;
  }

  /**
   * Seeded due mails the sweep released: their due time moved earlier (the
   * write that triggers processQueue; nothing claims them here).
   */
  async function countReleased(): Promise<number> {
    const docs = (await db.collection("mail").select("delivery.nextAttemptTime").get()).docs;
    return docs.filter((doc) => {
      const i = Number(doc.id.slice(1));
      const next = doc.get("delivery.nextAttemptTime") as Timestamp | undefined;
      return doc.id.startsWith("s") && next !== undefined && next.toMillis() < due(i).nextAttemptTime.toMillis();
    }).length;
  }

  test("2,000 due mails and 500 expired leases are all handled in one run", async () => {
    await seed(2000, due);
    const writer = db.bulkWriter();
    for (let i = 0; i < 500; i++) void writer.set(db.doc(`mail/e${i}`), { to: "a@example.com", delivery: expired(i) });
    await writer.close();

    const report = await runMaintenance(NOW);
    expect(report).toMatchObject({ released: 2000, expired: 500, skipped: 0, truncated: false });
    expect(await countReleased()).toBe(2000);
    expect(await countWhere("delivery.state", "ERROR")).toBe(500);
  });

  test("two overlapping runs on the same due set release each mail exactly once", async () => {
    await seed(1000, due);
    const [a, b] = await Promise.all([runMaintenance(NOW), runMaintenance(NOW)]);
    expect(a.released + b.released).toBe(1000);
    expect(await countReleased()).toBe(1000);
  });

  test("a run out of time stops after its current page, says so, and the next run takes up what is still due", async () => {
    await seed(250, due);
    const first = await runMaintenance(NOW, { budgetMs: 0, pageSize: 100 });
    expect(first).toMatchObject({ released: 100, truncated: true });
    expect(await countReleased()).toBe(100);
    // Nothing claims here, so the 100 released are still due: the next run
    // releases them again with the rest, as it would a release whose claim failed.
    const second = await runMaintenance(NOW, { pageSize: 100 });
    expect(second).toMatchObject({ released: 250, truncated: false });
    expect(await countReleased()).toBe(250);
  });
});
