/**
 * Which lifecycle events each transition publishes, and that each is
 * published once even when Cloud Functions delivers an event several times.
 * The publisher (src/events.ts) is replaced by a recorder here; its Eventarc
 * side is tested in test/unit/events.test.ts and end to end in test/e2e.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import type { EventData, LifecycleEvent } from "../../src/events";
import { runMaintenance } from "../../src/handlers/maintain-queue";
import { processQueue } from "../../src/index";
import { clearFirestore } from "../helpers/firestore-emulator";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-env";
import { configureExtension, testFirestore } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { Trigger, writeEvent } from "../helpers/trigger";

const published: Array<{ type: LifecycleEvent; data: EventData }> = [];
jest.mock("../../src/events", () => ({
  publishEvent: async (type: LifecycleEvent, data: EventData) => {
    published.push({ type, data });
  },
}));

const PROJECT = "demo-lifecycle-events";

describeWithEmulator("lifecycle events", () => {
  let db: Firestore;
  let sink: SmtpSink;
  let trigger: Trigger;

  beforeAll(async () => {
    db = testFirestore(PROJECT);
    trigger = new Trigger(db, processQueue);
    sink = await startSmtpSink({ rejectRecipients: { "gone@example.com": 550 } });
  });

  afterAll(async () => {
    await sink.close();
  });

  beforeEach(async () => {
    await clearFirestore(emulatorHost!, PROJECT);
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM: "noreply@example.com" });
    published.length = 0;
  });

  const types = () => published.map((event) => event.type);

  test("a delivered mail publishes start, pending, processing, success and complete, once each", async () => {
    const ref = db.doc("mail/ok");
    const empty = await ref.get();
    await ref.create({ to: "a@example.com", message: { subject: "s", text: "t" } });
    const created = await ref.get();
    await Promise.all(Array.from({ length: 5 }, () => processQueue.run(writeEvent(empty, created))));
    await trigger.settle(ref.path, created);

    expect(types()).toEqual(["onStart", "onPending", "onProcessing", "onSuccess", "onComplete"]);
    const success = published[3].data;
    expect(success).toMatchObject({ path: "mail/ok", documentId: "ok", state: "SUCCESS", attempts: 1, error: null });
    expect(success.info?.accepted).toEqual(["a@example.com"]);
  });

  test("a RETRY publishes retry, processing, the outcome and complete", async () => {
    await trigger.create("mail/r", { to: "gone@example.com", message: { subject: "s", text: "t" } });
    expect(types()).toEqual(["onStart", "onPending", "onProcessing", "onError", "onComplete"]);
    expect(published[3].data).toMatchObject({ state: "ERROR", attempts: 1, error: expect.stringContaining("550") });

    published.length = 0;
    await trigger.update("mail/r", { to: "a@example.com", "delivery.state": "RETRY" });
    expect(types()).toEqual(["onRetry", "onProcessing", "onSuccess", "onComplete"]);
    expect(published[2].data).toMatchObject({ state: "SUCCESS", attempts: 2 });
  });

  test("a malformed new document publishes start, error and complete", async () => {
    await trigger.create("mail/bad", { to: 42, message: { subject: "s" } });
    expect(types()).toEqual(["onStart", "onError", "onComplete"]);
    expect(published[1].data.error).toContain('"to"');
  });

  test("a lease recovered by the sweep publishes error and complete for the dead attempt", async () => {
    await db.doc("mail/dead").set({
      to: "a@example.com",
      message: { subject: "s", text: "t" },
      delivery: { state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(Date.now() - 1000) },
    });
    await Promise.all([runMaintenance(), runMaintenance()]);
    expect(types()).toEqual(["onError", "onComplete"]);
    expect(published[0].data).toMatchObject({ documentId: "dead", state: "ERROR", attempts: 1 });
  });
});
