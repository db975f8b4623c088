/**
 * Automatic retries (MAX_ATTEMPTS) and sending later (sendAt), end to end:
 * processQueue for the writes, the scheduled sweep for due mail, a real SMTP
 * server for the outcomes. Time is passed to the sweep, never slept.
 */
import { Timestamp, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { runMaintenance } from "../../src/handlers/maintain-queue";
import { processQueue } from "../../src/index";
import { clearFirestore } from "../helpers/firestore-emulator";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-env";
import { configureExtension, testFirestore } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { Trigger } from "../helpers/trigger";

const PROJECT = "demo-retries";

describeWithEmulator("automatic retries and sendAt", () => {
  let db: Firestore;
  let sink: SmtpSink;
  let trigger: Trigger;
  let n = 0;
  const nextPath = () => `mail/r${++n}`;

  beforeAll(() => {
    db = testFirestore(PROJECT);
    trigger = new Trigger(db, processQueue);
  });

  beforeEach(async () => {
    await clearFirestore(emulatorHost!, PROJECT);
  });

  afterEach(async () => {
    await sink?.close();
  });

  async function useSink(options: Parameters<typeof startSmtpSink>[0], params: Record<string, string> = {}) {
    sink = await startSmtpSink(options);
    configureExtension({
      SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`,
      DEFAULT_FROM: "noreply@example.com",
      ...params,
    });
  }

  /** Runs the sweep as if it were `atMs`, then delivers the events its writes cause. */
  async function sweepAt(path: string, atMs: number): Promise<DocumentSnapshot> {
    const before = await db.doc(path).get();
    await runMaintenance(atMs);
    return trigger.settle(path, before);
  }

  const dueOf = (snap: DocumentSnapshot) => (snap.get("delivery.nextAttemptTime") as Timestamp).toMillis();

  test("by default (MAX_ATTEMPTS 1) a temporary failure is final, as in the original", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } });
    const snap = await trigger.create(nextPath(), { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
  });

  test("a temporary failure is retried after the backoff until attempts run out", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } }, { MAX_ATTEMPTS: "3", RETRY_BACKOFF_SECONDS: "60" });
    const path = nextPath();
    const start = Date.now();
    let snap = await trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain("451");
    const firstDue = dueOf(snap);
    expect(firstDue - start).toBeGreaterThanOrEqual(48_000);

    // Not yet due: the sweep leaves it waiting.
    snap = await sweepAt(path, firstDue - 1000);
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    snap = await sweepAt(path, firstDue);
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 2 });
    // The second wait doubles the first (±20% jitter each).
    expect(dueOf(snap) - Date.now()).toBeGreaterThanOrEqual(96_000 - 5_000);

    snap = await sweepAt(path, dueOf(snap));
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 3 });
    expect(snap.get("delivery.error")).toContain("451");
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(sink.messages).toHaveLength(0);
  });

  test("a temporary then a permanent failure: exact attempts, final ERROR at once", async () => {
    await useSink(
      { rejectRecipients: { "busy@example.com": 451, "gone@example.com": 550 } },
      { MAX_ATTEMPTS: "5", RETRY_BACKOFF_SECONDS: "10" },
    );
    const path = nextPath();
    let snap = await trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    // Editing a waiting mail sends nothing; the next attempt uses the new content.
    snap = await trigger.update(path, { to: "gone@example.com" });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1 });

    snap = await sweepAt(path, dueOf(snap));
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 2 });
    expect(snap.get("delivery.error")).toContain("550");
  });

  test("a person's RETRY on a waiting mail acts at once, whatever the backoff says", async () => {
    await useSink({ rejectRecipients: { "busy@example.com": 451 } }, { MAX_ATTEMPTS: "3", RETRY_BACKOFF_SECONDS: "3600" });
    const path = nextPath();
    await trigger.create(path, { to: "busy@example.com", message: { subject: "s", text: "t" } });
    const snap = await trigger.update(path, { to: "ok@example.com", "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2, error: null });
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(sink.messages).toHaveLength(1);
  });

  test("sendAt in the future waits in PENDING and is sent once due", async () => {
    await useSink({});
    const path = nextPath();
    const sendAt = Date.now() + 3_600_000;
    let snap = await trigger.create(path, {
      to: "later@example.com",
      message: { subject: "s", text: "t" },
      sendAt: Timestamp.fromMillis(sendAt),
    });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 0 });
    expect(dueOf(snap)).toBe(sendAt);
    expect(sink.messages).toHaveLength(0);

    snap = await sweepAt(path, sendAt - 1);
    expect(snap.get("delivery.state")).toBe("PENDING");
    snap = await sweepAt(path, sendAt);
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1 });
    expect(sink.messages).toHaveLength(1);
  });

  test("a scheduled mail can be moved later, brought forward, or cancelled", async () => {
    await useSink({});
    const later = nextPath();
    const base = Date.now() + 3_600_000;
    await trigger.create(later, { to: "a@example.com", message: { subject: "s", text: "t" }, sendAt: Timestamp.fromMillis(base) });
    let snap = await trigger.update(later, { sendAt: Timestamp.fromMillis(base + 60_000) });
    expect(dueOf(snap)).toBe(base + 60_000);
    snap = await sweepAt(later, base);
    expect(snap.get("delivery.state")).toBe("PENDING");

    snap = await trigger.update(later, { sendAt: Timestamp.fromMillis(Date.now() - 1000) });
    expect(snap.get("delivery.state")).toBe("SUCCESS");

    const cancelled = nextPath();
    await trigger.create(cancelled, { to: "b@example.com", message: { subject: "s", text: "t" }, sendAt: Timestamp.fromMillis(base) });
    await db.doc(cancelled).delete();
    await runMaintenance(base + 1);
    expect(sink.messages.map((m) => m.envelope.rcptTo)).toEqual([["a@example.com"]]);
  });

  test("sendAt in the past sends at once; a sendAt that is not a timestamp ends in ERROR", async () => {
    await useSink({});
    const now = await trigger.create(nextPath(), {
      to: "a@example.com",
      message: { subject: "s", text: "t" },
      sendAt: Timestamp.fromMillis(Date.now() - 60_000),
    });
    expect(now.get("delivery.state")).toBe("SUCCESS");

    const bad = await trigger.create(nextPath(), { to: "a@example.com", message: { subject: "s", text: "t" }, sendAt: "tomorrow" });
    expect(bad.get("delivery.state")).toBe("ERROR");
    expect(bad.get("delivery.error")).toContain('"sendAt"');
    expect(sink.messages).toHaveLength(1);
  });
});
