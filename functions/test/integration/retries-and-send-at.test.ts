/**
 * Automatic retries (MAX_ATTEMPTS) and sending later (sendAt), end to end:
 * processQueue for the writes, the scheduled sweep for due mail, a real SMTP
 * server for the outcomes. Time is passed to the sweep, never slept.
 */
import { Timestamp, type DocumentSnapshot } from "firebase-admin/firestore";
import { runMaintenance } from "../helpers/extension-env";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";

const PROJECT = "demo-retries";

describeWithEmulator("automatic retries and sendAt", () => {
  const h = mailHarness(PROJECT);
  const { useSink, nextPath } = h;

  /** Runs the sweep as if it were `atMs` (to see what it leaves alone), then delivers the events its writes cause. */
  async function sweepAt(path: string, atMs: number): Promise<DocumentSnapshot> {
    const before = await h.db.doc(path).get();
    await runMaintenance(atMs);
    return h.trigger.settle(path, before);
  }

  /**
   * Waits until `dueMs`, then sweeps. A released mail is claimed by
   * processQueue on its own clock, so what the sweep releases must really be
   * due: these tests use due times a few seconds away.
   */
  async function sweepWhenDue(path: string, dueMs: number): Promise<DocumentSnapshot> {
    const wait = dueMs - Date.now();
    if (wait > 10_000) throw new Error(`the test waits at most 10 s, not ${wait} ms`);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return sweepAt(path, Date.now());
  }

  const dueOf = (snap: DocumentSnapshot) => (snap.get("delivery.nextAttemptTime") as Timestamp).toMillis();

  test("by default (MAX_ATTEMPTS 1) a temporary failure is final, as in the original", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } });
    const snap = await h.trigger.create(nextPath(), { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
  });

  test("a temporary failure is retried after the backoff until attempts run out", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } }, { MAX_ATTEMPTS: "3", RETRY_BACKOFF_SECONDS: "1" });
    const path = nextPath();
    const start = Date.now();
    let snap = await h.trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain("451");
    const firstDue = dueOf(snap);
    expect(firstDue - start).toBeGreaterThanOrEqual(800);

    // Not yet due: the sweep leaves it waiting.
    snap = await sweepAt(path, firstDue - 500);
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    snap = await sweepWhenDue(path, firstDue);
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 2 });
    // The second wait doubles the first (±20% jitter each).
    expect(dueOf(snap) - Date.now()).toBeGreaterThanOrEqual(1_600 - 300);

    snap = await sweepWhenDue(path, dueOf(snap));
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 3 });
    expect(snap.get("delivery.error")).toContain("451");
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a temporary then a permanent failure: exact attempts, final ERROR at once", async () => {
    await useSink(
      { rejectRecipients: { "busy@example.com": 451, "gone@example.com": 550 } },
      { MAX_ATTEMPTS: "5", RETRY_BACKOFF_SECONDS: "1" },
    );
    const path = nextPath();
    let snap = await h.trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    // Editing a waiting mail sends nothing; the next attempt uses the new content.
    snap = await h.trigger.update(path, { to: "gone@example.com" });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    snap = await sweepWhenDue(path, dueOf(snap));
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 2 });
    expect(snap.get("delivery.error")).toContain("550");
  });

  test("a person's RETRY on a waiting mail acts at once, whatever the backoff says", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } }, { MAX_ATTEMPTS: "3", RETRY_BACKOFF_SECONDS: "3600" });
    const path = nextPath();
    await h.trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    const snap = await h.trigger.update(path, { to: "ok@example.com", "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2, error: null });
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(h.sink.messages).toHaveLength(1);
  });

  test("sendAt in the future waits in PENDING and is sent once due", async () => {
    await useSink({});
    const path = nextPath();
    const sendAt = Date.now() + 3_000;
    let snap = await h.trigger.create(path, {
      to: "later@example.com",
      message: { subject: "s", text: "t" },
      sendAt: Timestamp.fromMillis(sendAt),
    });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 0 });
    expect(dueOf(snap)).toBe(sendAt);
    expect(h.sink.messages).toHaveLength(0);

    snap = await sweepAt(path, sendAt - 1);
    expect(snap.get("delivery.state")).toBe("PENDING");
    snap = await sweepWhenDue(path, sendAt);
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1 });
    expect(h.sink.messages).toHaveLength(1);
  });

  test("a scheduled mail can be moved later, brought forward, or cancelled", async () => {
    await useSink({});
    const later = nextPath();
    const base = Date.now() + 3_600_000;
    await h.trigger.create(later, { to: "a@example.com", message: { subject: "s", text: "t" }, sendAt: Timestamp.fromMillis(base) });
    let snap = await h.trigger.update(later, { sendAt: Timestamp.fromMillis(base + 60_000) });
    expect(dueOf(snap)).toBe(base + 60_000);
    snap = await sweepAt(later, base);
    expect(snap.get("delivery.state")).toBe("PENDING");

    snap = await h.trigger.update(later, { sendAt: Timestamp.fromMillis(Date.now() - 1000) });
    expect(snap.get("delivery.state")).toBe("SUCCESS");

    const cancelled = nextPath();
    await h.trigger.create(cancelled, { to: "b@example.com", message: { subject: "s", text: "t" }, sendAt: Timestamp.fromMillis(base) });
    await h.db.doc(cancelled).delete();
    await runMaintenance(base + 1);
    expect(h.sink.messages.map((m) => m.envelope.rcptTo)).toEqual([["a@example.com"]]);
  });

  test("sendAt in the past sends at once; a sendAt that is not a timestamp ends in ERROR", async () => {
    await useSink({});
    const now = await h.trigger.create(nextPath(), {
      to: "a@example.com",
      message: { subject: "s", text: "t" },
      sendAt: Timestamp.fromMillis(Date.now() - 60_000),
    });
    expect(now.get("delivery.state")).toBe("SUCCESS");

    const bad = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "s", text: "t" }, sendAt: "tomorrow" });
    expect(bad.get("delivery.state")).toBe("ERROR");
    expect(bad.get("delivery.error")).toContain('"sendAt"');
    expect(h.sink.messages).toHaveLength(1);
  });
});
