/**
 * Which lifecycle events each transition publishes, that each is published
 * once even when Cloud Functions delivers an event several times, and what
 * the payload carries: the documented fields, and the original's `doc` (the
 * document as the transition left it, in the original's form for the event
 * type) and `err`, compared with the document read back from the emulator.
 * Only the Eventarc channel is replaced, by a recorder; the client itself is
 * tested in test/unit/lifecycle/events.test.ts and end to end in test/e2e.
 */
import { afterLeases } from "../helpers/sweep-params";
import { LEASE_GRACE_MS } from "../../src/shared/budget";
import { Timestamp, type DocumentSnapshot } from "firebase-admin/firestore";
import type { EventPayload, LifecycleEvent } from "../../src/lifecycle/events";
import { runMaintenance } from "../helpers/extension-env";
import { processQueue } from "../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { Trigger, writeEvent } from "../helpers/trigger";

const PREFIX = "firebase.extensions.firestore-send-email.v1.";

/** Free-form JSON, read the way a handler written for the original reads it. */
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Recorded = { type: LifecycleEvent; data: EventPayload & { doc: Json } };
const published: Recorded[] = [];
jest.mock("firebase-admin/eventarc", () => ({
  getEventarc: () => ({
    channel: () => ({
      // As the real client does, the payload travels as JSON.
      publish: async (event: { type: string; data: unknown }) => {
        published.push({ type: event.type.slice(PREFIX.length) as LifecycleEvent, data: JSON.parse(JSON.stringify(event.data)) });
      },
    }),
  }),
}));

const PROJECT = "demo-lifecycle-events";

/** The snapshot as the original's handlers saw it: `JSON.stringify` of a firebase-admin read, at its update time. */
function snapshotJson(snapshot: DocumentSnapshot): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(snapshot));
  return { ...json, _readTime: json._updateTime };
}

/**
 * `delivery.endTime` aside (a server timestamp: the event's copy is the
 * write's commit time, a few milliseconds after the time Firestore stored),
 * with a check that the two are close.
 */
function withoutEndTime(doc: Json, stored: Timestamp): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(doc));
  const fields = copy._fieldsProto?.delivery.mapValue.fields;
  const shown = fields ? fields.endTime.timestampValue : copy.delivery.endTime;
  const ms = fields ? Number(shown.seconds) * 1000 + shown.nanos / 1e6 : shown._seconds * 1000 + shown._nanoseconds / 1e6;
  expect(Math.abs(ms - stored.toMillis())).toBeLessThan(1_000);
  if (fields) delete fields.endTime;
  else delete copy.delivery.endTime;
  return copy;
}

describeWithEmulator("lifecycle events", () => {
  const db = emulatorFirestore(PROJECT);
  const trigger = new Trigger(db, processQueue);
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink({ rejectRecipients: { "gone@example.com": 550 } });
    process.env.EVENTARC_CHANNEL = `projects/${PROJECT}/locations/us-central1/channels/firebase`;
  });

  afterAll(async () => {
    delete process.env.EVENTARC_CHANNEL;
    await sink.close();
  });

  beforeEach(() => {
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
    const final = await trigger.settle(ref.path, created);

    expect(types()).toEqual(["onStart", "onPending", "onProcessing", "onSuccess", "onComplete"]);
    const success = published[3].data;
    expect(success).toMatchObject({ path: "mail/ok", documentId: "ok", state: "SUCCESS", attempts: 1, error: null });
    expect(success.info?.accepted).toEqual(["a@example.com"]);

    // onSuccess and onComplete: the final document, as a serialised snapshot.
    const endTime = final.get("delivery.endTime") as Timestamp;
    for (const event of published.slice(3)) {
      expect(withoutEndTime(event.data.doc, endTime)).toEqual(withoutEndTime(snapshotJson(final), endTime));
      expect(event.data).not.toHaveProperty("err");
    }
    // Each earlier event shows the version its own transition produced.
    const [start, pending, processing] = published.map((event) => event.data.doc);
    expect(start._fieldsProto.delivery.mapValue.fields.state.stringValue).toBe("PENDING");
    expect(start._ref._path.segments).toEqual(["mail", "ok"]);
    expect(start._createTime).toEqual(snapshotJson(final)._createTime);
    expect(pending).toMatchObject({ to: "a@example.com", delivery: { state: "PENDING", attempts: 0, error: null } });
    expect(processing._fieldsProto.delivery.mapValue.fields).toMatchObject({
      state: { stringValue: "PROCESSING" },
      leaseExpireTime: { valueType: "timestampValue" },
    });
    expect(processing._updateTime._seconds * 1e9 + processing._updateTime._nanoseconds).toBeLessThan(
      final.updateTime!.seconds * 1e9 + final.updateTime!.nanoseconds,
    );
  });

  test("a scheduled mail's onStart and onPending show the stored document in the original's two forms", async () => {
    const sendAt = Timestamp.fromMillis(Date.now() + 3_600_000);
    const waiting = await trigger.create("mail/later", { to: "a@example.com", message: { subject: "s", text: "t" }, sendAt });
    expect(waiting.get("delivery.state")).toBe("PENDING");

    expect(types()).toEqual(["onStart", "onPending"]);
    expect(published[0].data.doc).toEqual(snapshotJson(waiting));
    expect(published[1].data.doc).toEqual(JSON.parse(JSON.stringify(waiting.data())));
    expect(published[1].data.doc.sendAt).toEqual({ _seconds: sendAt.seconds, _nanoseconds: sendAt.nanoseconds });
  });

  test("a RETRY publishes retry, processing, the outcome and complete", async () => {
    const failed = await trigger.create("mail/r", { to: "gone@example.com", message: { subject: "s", text: "t" } });
    expect(types()).toEqual(["onStart", "onPending", "onProcessing", "onError", "onComplete"]);
    expect(published[3].data).toMatchObject({ state: "ERROR", attempts: 1, error: expect.stringContaining("550") });
    // onError: the document's data, and err = the text written to delivery.error.
    const endTime = failed.get("delivery.endTime") as Timestamp;
    expect(published[3].data.err).toBe(failed.get("delivery.error"));
    const stored = JSON.parse(JSON.stringify(failed.data()));
    expect(withoutEndTime(published[3].data.doc, endTime)).toEqual(withoutEndTime(stored, endTime));

    published.length = 0;
    await trigger.update("mail/r", { to: "a@example.com", "delivery.state": "RETRY" });
    expect(types()).toEqual(["onRetry", "onProcessing", "onSuccess", "onComplete"]);
    expect(published[2].data).toMatchObject({ state: "SUCCESS", attempts: 2 });
    expect(published[0].data.doc).toMatchObject({ to: "a@example.com", delivery: { state: "PROCESSING", attempts: 1 } });
  });

  test("a malformed new document publishes start, error and complete", async () => {
    const rejected = await trigger.create("mail/bad", { to: 42, message: { subject: "s" } });
    expect(types()).toEqual(["onStart", "onError", "onComplete"]);
    expect(published[1].data.error).toContain('"to"');
    expect(published[1].data.err).toBe(rejected.get("delivery.error"));
    expect(published[1].data.doc).toMatchObject({ to: 42, delivery: { state: "ERROR", error: published[1].data.err } });
  });

  test("a lease recovered by the sweep publishes error and complete for the dead attempt", async () => {
    const ref = db.doc("mail/dead");
    await ref.set({
      to: "a@example.com",
      message: { subject: "s", text: "t" },
      delivery: { state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(Date.now() - LEASE_GRACE_MS - 1000) },
    });
    const at = afterLeases();
    await Promise.all([runMaintenance(at), runMaintenance(at)]);
    expect(types()).toEqual(["onError", "onComplete"]);
    expect(published[0].data).toMatchObject({ documentId: "dead", state: "ERROR", attempts: 1 });

    const expired = await ref.get();
    const endTime = expired.get("delivery.endTime") as Timestamp;
    expect(published[0].data.err).toBe("Message processing lease expired.");
    const stored = JSON.parse(JSON.stringify(expired.data()));
    expect(withoutEndTime(published[0].data.doc, endTime)).toEqual(withoutEndTime(stored, endTime));
    expect(withoutEndTime(published[1].data.doc, endTime)).toEqual(withoutEndTime(snapshotJson(expired), endTime));
  });
});
