/**
 * Lifecycle events through the real Eventarc emulator: the extension
 * publishes to its channel, the emulator triggers the receiver codebase
 * (test/e2e/event-receiver), which records each event in `e2e-events`.
 * Each real transition must produce its event exactly once, with the
 * documented fields and the original extension's `doc` (and `err`).
 */
import type { Firestore } from "firebase-admin/firestore";
import { e2eFirestore, waitForFinalState, waitForQuery } from "./e2e-env";

const PREFIX = "firebase.extensions.firestore-send-email.v1.";

interface Recorded {
  type: string;
  subject: string;
  id: string;
  data: {
    path: string;
    documentId: string;
    state: string | null;
    attempts: number | null;
    error: string | null;
    info: { messageId: string | null; accepted: string[]; rejected: string[]; pending: string[]; response: string | null } | null;
    /** The original's form: a serialised DocumentSnapshot or the document's data, depending on the type. */
    doc: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form JSON
    err?: string | null;
  };
}

/** The types whose `doc` is a serialised DocumentSnapshot, as in the original; the others carry the data. */
const SNAPSHOT_FORM = ["onStart", "onProcessing", "onSuccess", "onComplete"];

/** `delivery.state` as the event's `doc` shows it, in either form. */
function docState(event: Recorded): string | undefined {
  const { doc } = event.data;
  return doc._fieldsProto ? doc._fieldsProto.delivery?.mapValue.fields.state?.stringValue : doc.delivery?.state;
}

/** Whether at least one event of each type arrived (the emulator delivers them concurrently, in any order). */
const hasAll = (types: string[]) => (events: Recorded[]) => types.every((type) => (counts(events)[type] ?? 0) >= 1);

function counts(events: Recorded[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const event of events) {
    const type = event.type.slice(PREFIX.length);
    out[type] = (out[type] ?? 0) + 1;
  }
  return out;
}

describe("lifecycle events received from the Eventarc emulator", () => {
  let db: Firestore;

  beforeAll(() => {
    db = e2eFirestore();
  });

  afterAll(async () => {
    await db.terminate();
  });

  const eventsOf = (documentId: string) => db.collection("e2e-events").where("subject", "==", documentId);

  test("a new mail, then a RETRY: each transition is published once, with a consistent payload", async () => {
    const ref = await db.collection("mail").add({ to: "events@example.com", message: { subject: "Events", text: "e" } });
    const first = await waitForFinalState(ref);
    expect(first.get("delivery.state")).toBe("SUCCESS");

    // Every event of the first attempt is in before the retry starts.
    const firstRound = await waitForQuery<Recorded>(
      eventsOf(ref.id),
      hasAll(["onStart", "onPending", "onProcessing", "onSuccess", "onComplete"]),
    );

    await ref.update({ "delivery.state": "RETRY" });
    await waitForFinalState(ref, 2);
    const all = await waitForQuery<Recorded>(
      eventsOf(ref.id),
      (events) => hasAll(["onRetry"])(events) && counts(events).onComplete === 2 && counts(events).onSuccess === 2,
    );

    expect(counts(firstRound)).toEqual({ onStart: 1, onPending: 1, onProcessing: 1, onSuccess: 1, onComplete: 1 });
    expect(counts(all)).toEqual({ onStart: 1, onPending: 1, onProcessing: 2, onSuccess: 2, onComplete: 2, onRetry: 1 });

    for (const event of all) {
      expect(event.subject).toBe(ref.id);
      expect(event.data.documentId).toBe(ref.id);
      expect(event.data.path).toBe(ref.path);
      expect(Object.keys(event.data).sort()).toEqual(["attempts", "doc", "documentId", "error", "info", "path", "state"]);
      const type = event.type.slice(PREFIX.length);
      if (SNAPSHOT_FORM.includes(type)) {
        expect(event.data.doc._fieldsProto.to).toEqual({ stringValue: "events@example.com", valueType: "stringValue" });
        expect(event.data.doc._ref._path.segments).toEqual(["mail", ref.id]);
        expect(event.data.doc._createTime).toEqual({ _seconds: expect.any(Number), _nanoseconds: expect.any(Number) });
      } else {
        expect(event.data.doc.to).toBe("events@example.com");
        expect(event.data.doc.message).toEqual({ subject: "Events", text: "e" });
      }
    }
    const stateOf = (type: string) => all.filter((event) => event.type === `${PREFIX}${type}`).map(docState);
    expect(stateOf("onPending")).toEqual(["PENDING"]);
    expect(stateOf("onRetry")).toEqual(["PROCESSING"]);
    expect(stateOf("onProcessing")).toEqual(["PROCESSING", "PROCESSING"]);
    expect(stateOf("onSuccess")).toEqual(["SUCCESS", "SUCCESS"]);
    const successes = all.filter((event) => event.type === `${PREFIX}onSuccess`);
    for (const event of successes) {
      expect(event.data.state).toBe("SUCCESS");
      expect(event.data.error).toBeNull();
      expect(event.data.info).toMatchObject({ accepted: ["events@example.com"], rejected: [], pending: [] });
    }
    expect(successes.map((event) => event.data.attempts).sort()).toEqual([1, 2]);
    expect(new Set(all.map((event) => event.id)).size).toBe(all.length);
  });

  test("a failed mail publishes onError with the error, and onComplete", async () => {
    const ref = await db.collection("mail").add({ message: { subject: "No recipients", text: "x" } });
    const snap = await waitForFinalState(ref);
    expect(snap.get("delivery.state")).toBe("ERROR");

    const events = await waitForQuery<Recorded>(eventsOf(ref.id), hasAll(["onStart", "onError", "onComplete"]));
    const errors = events.filter((event) => event.type === `${PREFIX}onError`);
    expect(errors).toHaveLength(1);
    expect(errors[0].data).toMatchObject({ state: "ERROR", error: snap.get("delivery.error"), info: null });
    // The original's onError payload: `err` and the document's data.
    expect(errors[0].data.err).toBe(snap.get("delivery.error"));
    expect(errors[0].data.doc).toMatchObject({
      message: { subject: "No recipients" },
      delivery: { state: "ERROR", error: snap.get("delivery.error") },
    });
    expect(counts(events)).toMatchObject({ onStart: 1, onError: 1, onComplete: 1 });
    expect(counts(events).onSuccess).toBeUndefined();
  });
});
