/**
 * The scheduled sweep (maintainQueue) against the Firestore emulator: expired
 * leases end, live and renewed ones are never touched, concurrent sweeps
 * write each document once, and a late result never clobbers a newer attempt.
 */
import { Timestamp } from "firebase-admin/firestore";
import { LEASE_GRACE_MS, LEASE_MS } from "../../src/shared/budget";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { outcomeMark } from "../../src/delivery/marks";
import { MailStore } from "../../src/delivery/store";
import { runMaintenance } from "../helpers/extension-env";
import { maintainQueue } from "../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

const PROJECT = "demo-recovery";
const NOW = Date.now();
/** A lease that ended longer ago than the grace observers give its outcome write. */
const EXPIRED = NOW - LEASE_GRACE_MS - 1000;
/** A lease that outlasts every sweep these tests run. */
const ALIVE = NOW + 3_600_000;
const message = { subject: "x", text: "y" };

describeWithEmulator("lease recovery by the scheduled sweep", () => {
  const db = emulatorFirestore(PROJECT);
  beforeEach(() => configureExtension(SWEEP_PARAMS));

  function processing(leaseMs: number, attempts = 0) {
    return {
      to: "a@example.com",
      message,
      delivery: {
        state: "PROCESSING",
        attempts,
        startTime: Timestamp.fromMillis(leaseMs - 60_000),
        leaseExpireTime: Timestamp.fromMillis(leaseMs),
        error: null,
      },
    };
  }

  test("an expired lease ends in ERROR, counted as an attempt; a live one is untouched", async () => {
    await db.doc("mail/dead").set(processing(EXPIRED));
    await db.doc("mail/alive").set(processing(ALIVE));

    const report = await runMaintenance(afterLeases());
    expect(report).toMatchObject({ expired: 1, skipped: 0 });

    const dead = (await db.doc("mail/dead").get()).get("delivery");
    expect(dead.state).toBe("ERROR");
    expect(dead.error).toBe(LEASE_EXPIRED_ERROR);
    expect(dead.attempts).toBe(1);
    expect(dead.leaseExpireTime).toBeNull();
    expect(dead.endTime).toBeInstanceOf(Timestamp);

    const alive = (await db.doc("mail/alive").get()).get("delivery");
    expect(alive.state).toBe("PROCESSING");
    expect(alive.leaseExpireTime.toMillis()).toBe(ALIVE);
  });

  test("even with automatic retries an expired lease ends in ERROR: its attempt may have delivered", async () => {
    configureExtension({
      ...SWEEP_PARAMS,
      MAX_ATTEMPTS: "3",
      RETRY_BACKOFF_SECONDS: "60",
    });
    await db.doc("mail/dead").set(processing(EXPIRED));
    await runMaintenance(afterLeases());
    const delivery = (await db.doc("mail/dead").get()).get("delivery");
    expect(delivery).toMatchObject({ state: "ERROR", error: LEASE_EXPIRED_ERROR, attempts: 1, leaseExpireTime: null });
  });

  test("a lease is left to its outcome write until a lease and the grace have passed since the write carrying it", async () => {
    await db.doc("mail/late").set(processing(EXPIRED));
    const written = (await db.doc("mail/late").get()).updateTime!.toMillis();
    expect((await runMaintenance(written + LEASE_MS + LEASE_GRACE_MS - 5_000)).expired).toBe(0);
    expect((await db.doc("mail/late").get()).get("delivery.state")).toBe("PROCESSING");
    expect((await runMaintenance(written + LEASE_MS + LEASE_GRACE_MS)).expired).toBe(1);
  });

  test("a lease renewed after the sweep read it is never overwritten", async () => {
    const ref = db.doc("mail/renewed");
    await ref.set(processing(EXPIRED));
    const stale = await db.collection("mail").where("delivery.leaseExpireTime", "<=", Timestamp.fromMillis(NOW)).get();
    // Another attempt claims the document between the sweep's query and its write.
    await ref.update({ "delivery.leaseExpireTime": Timestamp.fromMillis(NOW + 60_000) });
    const store = new MailStore(db);
    const written = await store.updateIf(ref.path, { "delivery.state": "ERROR" }, stale.docs[0].updateTime);
    expect(written).toBeNull();
    expect((await ref.get()).get("delivery.state")).toBe("PROCESSING");
    expect((await runMaintenance(NOW)).expired).toBe(0);
  });

  test("two sweeps at once write each expired document exactly once", async () => {
    const batch = db.batch();
    for (let i = 0; i < 30; i++) batch.set(db.doc(`mail/d${i}`), processing(EXPIRED - i));
    await batch.commit();

    const at = afterLeases();
    const [a, b] = await Promise.all([runMaintenance(at), runMaintenance(at)]);
    expect(a.expired + b.expired).toBe(30);
    const docs = await db.collection("mail").get();
    for (const doc of docs.docs) {
      expect(doc.get("delivery.state")).toBe("ERROR");
      expect(doc.get("delivery.attempts")).toBe(1);
    }
  });

  test("more expired documents than one batch are all recovered in one run", async () => {
    const writer = db.bulkWriter();
    for (let i = 0; i < 250; i++) void writer.set(db.doc(`mail/many${i}`), processing(EXPIRED - i));
    await writer.close();
    expect((await runMaintenance(afterLeases())).expired).toBe(250);
  });

  test("a stale lease on a document a person moved out of PROCESSING is cleared, not failed", async () => {
    const data = processing(EXPIRED);
    data.delivery.state = "SUCCESS";
    await db.doc("mail/hand-edited").set(data);
    expect((await runMaintenance(NOW)).cleaned).toBe(1);
    const delivery = (await db.doc("mail/hand-edited").get()).get("delivery");
    expect(delivery.state).toBe("SUCCESS");
    expect(delivery.leaseExpireTime).toBeNull();
  });

  test("documents outside the mail collection are never touched", async () => {
    await db.doc("other/doc").set(processing(EXPIRED));
    await runMaintenance(afterLeases());
    expect((await db.doc("other/doc").get()).get("delivery.state")).toBe("PROCESSING");
  });

  test("a wildcard MAIL_COLLECTION is swept across every matching subcollection", async () => {
    configureExtension({
      ...SWEEP_PARAMS,
      MAIL_COLLECTION: "users/{uid}/mail",
    });
    await db.doc("users/u1/mail/a").set(processing(EXPIRED));
    await db.doc("users/u2/mail/b").set(processing(EXPIRED));
    await db.doc("teams/t1/mail/c").set(processing(EXPIRED));
    expect((await runMaintenance(afterLeases())).expired).toBe(2);
    expect((await db.doc("teams/t1/mail/c").get()).get("delivery.state")).toBe("PROCESSING");
  });

  test("the exported scheduled function runs the sweep", async () => {
    const due = Date.now() - 1000;
    await db.doc("mail/due").set({ to: "a@example.com", message, delivery: { state: "PENDING", attempts: 1, nextAttemptTime: Timestamp.fromMillis(due) } });
    await maintainQueue.run({}, {});
    // Released: its due time moved back, a write that brings processQueue to claim it.
    expect((await db.doc("mail/due").get()).get("delivery.nextAttemptTime").toMillis()).toBeLessThan(due);
  });
});

describeWithEmulator("a late result never clobbers a newer attempt", () => {
  const db = emulatorFirestore(PROJECT);
  beforeEach(() => configureExtension(SWEEP_PARAMS));
  const store = new MailStore(db);
  const lease = Timestamp.fromMillis(NOW + 60_000);
  const owner = { attemptId: "attempt-a", attemptsBefore: 0 };
  const write = (state: string, error: string | null) => ({
    patch: { "delivery.state": state, "delivery.attempts": 1, "delivery.error": error, "delivery.leaseExpireTime": null },
    mark: outcomeMark(owner.attemptId, state, error, 1),
  });
  const writes = { owned: write("SUCCESS", null), requested: write("SUCCESS", null), recovered: write("SUCCESS", null) };

  test("an attempt that still holds its lease records its result, whatever else changed", async () => {
    await db.doc("mail/m").set({ note: "edited during the send", delivery: { state: "PROCESSING", attempts: 0, attemptId: "attempt-a", leaseExpireTime: lease } });
    expect(await store.recordOutcome("mail/m", owner, writes)).toBe("owned");
    expect((await db.doc("mail/m").get()).get("delivery.state")).toBe("SUCCESS");
  });

  test("a person's RETRY during the attempt is answered with the attempt's true outcome", async () => {
    await db.doc("mail/asked").set({ delivery: { state: "RETRY", attempts: 0, attemptId: "attempt-a", leaseExpireTime: lease } });
    expect(await store.recordOutcome("mail/asked", owner, writes)).toBe("requested");
    expect((await db.doc("mail/asked").get()).get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1, leaseExpireTime: null });
  });

  test("a result arriving after recovery gave up on the same attempt replaces the guess", async () => {
    await db.doc("mail/m").set({ delivery: { state: "ERROR", attempts: 1, attemptId: "attempt-a", error: LEASE_EXPIRED_ERROR, leaseExpireTime: null } });
    expect(await store.recordOutcome("mail/m", owner, writes)).toBe("recovered");
    const delivery = (await db.doc("mail/m").get()).get("delivery");
    expect(delivery).toMatchObject({ state: "SUCCESS", attempts: 1, error: null });
  });

  test("a newer attempt, or a person's RETRY after recovery, wins over a late result", async () => {
    const newer = Timestamp.fromMillis(NOW + 120_000);
    await db.doc("mail/newer").set({ delivery: { state: "PROCESSING", attempts: 1, attemptId: "attempt-b", leaseExpireTime: newer } });
    await db.doc("mail/retry").set({ delivery: { state: "RETRY", attempts: 1, attemptId: "attempt-a", error: LEASE_EXPIRED_ERROR, leaseExpireTime: null } });
    expect(await store.recordOutcome("mail/newer", owner, writes)).toBeNull();
    expect(await store.recordOutcome("mail/retry", owner, writes)).toBeNull();
    expect((await db.doc("mail/newer").get()).get("delivery.state")).toBe("PROCESSING");
    expect((await db.doc("mail/retry").get()).get("delivery.state")).toBe("RETRY");
  });
});
