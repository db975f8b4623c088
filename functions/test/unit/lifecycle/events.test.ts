/**
 * publishEvent against a stand-in for the Admin SDK's Eventarc client: when
 * it publishes, what, and that it never loads the client or throws when it
 * must not. The real client is exercised end to end in test/e2e/events.test.ts.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { EventData, LifecyclePublisher } from "../../../src/lifecycle/events";

const CHANNEL = "projects/demo-events/locations/us-central1/channels/firebase";
const PREFIX = "firebase.extensions.firestore-send-email.v1.";
const ENV = ["EVENTARC_CHANNEL", "EXT_SELECTED_EVENTS", "ALLOWED_EVENT_TYPES", "CLOUD_EVENTARC_EMULATOR_HOST"];

const data: EventData = {
  path: "mail/m1",
  documentId: "m1",
  state: "SUCCESS",
  attempts: 1,
  error: null,
  info: { messageId: "<a@b>", accepted: ["a@example.com"], rejected: [], pending: [], response: "250 OK" },
};

interface Loaded {
  /** One publisher of this copy, as a runtime holds it. */
  events: { publishEvent: LifecyclePublisher["publish"]; publisher: LifecyclePublisher };
  batch: typeof import("../../../src/lifecycle/event-batch");
  /** This copy's firebase-admin/firestore: its classes are the ones the serialiser recognises. */
  firestore: typeof import("firebase-admin/firestore");
  logs: typeof import("../../../src/shared/logs");
  /** The logger instance that this copy of logs.ts writes to. */
  logger: typeof import("firebase-functions/logger");
  /** Whether firebase-admin/eventarc was loaded at all. */
  eventarcLoaded: () => boolean;
  publish: jest.Mock;
  channel: jest.Mock;
  initializeApp: jest.Mock;
}

/** Loads src/lifecycle/events.ts afresh, with the Eventarc client and firebase-admin/app replaced by recorders. */
function load(publishImpl: () => Promise<void> = async () => undefined): Loaded {
  let eventarcLoaded = false;
  const publish = jest.fn(publishImpl);
  const channel = jest.fn(() => ({ publish }));
  const apps: Array<{ name: string; options: unknown }> = [];
  const initializeApp = jest.fn((options: unknown = {}, name = "[DEFAULT]") => {
    const app = { name, options };
    apps.push(app);
    return app;
  });
  jest.doMock("firebase-admin/eventarc", () => {
    eventarcLoaded = true;
    return { getEventarc: jest.fn(() => ({ channel })) };
  });
  jest.doMock("firebase-admin/app", () => ({ getApps: () => [...apps], initializeApp }));
  let loaded!: Omit<Loaded, "eventarcLoaded" | "publish" | "channel" | "initializeApp">;
  jest.isolateModules(() => {
    loaded = {
      events: publisherOf(require("../../../src/lifecycle/events")),
      batch: require("../../../src/lifecycle/event-batch"),
      firestore: require("firebase-admin/firestore"),
      logs: require("../../../src/shared/logs"),
      logger: require("firebase-functions/logger"),
    };
  });
  return { ...loaded, eventarcLoaded: () => eventarcLoaded, publish, channel, initializeApp };
}

function publisherOf(module: typeof import("../../../src/lifecycle/events")) {
  const publisher = module.createEventarcPublisher();
  return { publishEvent: publisher.publish, publisher };
}

/** The payloads published so far, as JSON (how the Eventarc client sends them). */
function sentPayloads(loaded: Loaded) {
  return (loaded.publish.mock.calls as Array<[{ data: unknown }]>).map(([event]) => JSON.parse(JSON.stringify(event.data)));
}

describe("publishEvent", () => {
  const saved: Record<string, string | undefined> = {};

  beforeEach(() => {
    for (const name of ENV) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });

  afterEach(() => {
    for (const name of ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    jest.resetModules();
    jest.restoreAllMocks();
  });

  test("without a channel, publishes nothing and never loads the Eventarc client", async () => {
    const { events, eventarcLoaded, publish } = load();
    await events.publishEvent("onStart", data);
    await events.publishEvent("onSuccess", data);
    expect(publish).not.toHaveBeenCalled();
    expect(eventarcLoaded()).toBe(false);
  });

  test("with a channel, publishes the typed event with subject = document id and a plain payload", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    const { events, publish, channel } = load();
    await events.publishEvent("onSuccess", data);
    expect(channel).toHaveBeenCalledWith(CHANNEL, {});
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledWith({ type: `${PREFIX}onSuccess`, subject: "m1", data });
    // The payload survives JSON unchanged: nothing in it needs Firestore to read.
    const sent = publish.mock.calls[0][0] as { data: unknown };
    expect(JSON.parse(JSON.stringify(sent.data))).toEqual(data);
  });

  test("a type the user did not select in EXT_SELECTED_EVENTS is not published", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    process.env.EXT_SELECTED_EVENTS = `${PREFIX}onSuccess,${PREFIX}onError`;
    const { events, publish, channel } = load();
    await events.publishEvent("onStart", data);
    expect(publish).not.toHaveBeenCalled();
    await events.publishEvent("onError", { ...data, state: "ERROR", error: "550 refused", info: null });
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish.mock.calls[0][0]).toMatchObject({ type: `${PREFIX}onError`, data: { error: "550 refused" } });
    expect(channel).toHaveBeenCalledWith(CHANNEL, { allowedEventTypes: [`${PREFIX}onSuccess`, `${PREFIX}onError`] });
  });

  test("the emulator's ALLOWED_EVENT_TYPES is honoured when EXT_SELECTED_EVENTS is absent; empty selects nothing", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    process.env.ALLOWED_EVENT_TYPES = `${PREFIX}onComplete`;
    const first = load();
    await first.events.publishEvent("onSuccess", data);
    await first.events.publishEvent("onComplete", data);
    expect(first.publish.mock.calls.map(([event]) => event.type)).toEqual([`${PREFIX}onComplete`]);

    jest.resetModules();
    process.env.EXT_SELECTED_EVENTS = "";
    const second = load();
    await second.events.publishEvent("onComplete", data);
    expect(second.publish).not.toHaveBeenCalled();
  });

  test("a failed publish is swallowed and logged, without the secret it may contain", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    const { events, logs, logger, publish } = load(async () => {
      throw new Error("503 from eventarc for s3cr3t-token");
    });
    logs.registerSecrets(["s3cr3t-token"]);
    const failed = jest.spyOn(logs, "eventPublishFailed");
    const warn = jest.spyOn(logger, "warn").mockImplementation(() => undefined);

    await expect(events.publishEvent("onSuccess", data)).resolves.toBeUndefined();
    expect(publish).toHaveBeenCalledTimes(1);
    expect(failed).toHaveBeenCalledWith(`${PREFIX}onSuccess`, "mail/m1", expect.any(Error));
    const line = String(warn.mock.calls[0]?.[0]);
    expect(line).toContain("503 from eventarc");
    expect(line).not.toContain("s3cr3t-token");
  });

  test("a channel that cannot be built is logged and retried on the next event", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    const { events, logs, channel, publish } = load();
    const failed = jest.spyOn(logs, "eventPublishFailed").mockImplementation(() => undefined);
    channel.mockImplementationOnce(() => {
      throw new Error("Invalid channel name format.");
    });
    await events.publishEvent("onStart", data);
    expect(failed).toHaveBeenCalledTimes(1);
    await events.publishEvent("onPending", data);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(channel).toHaveBeenCalledTimes(2);
  });

  test("against the Eventarc emulator, a separate app with a dummy token is used, after the default app", async () => {
    process.env.EVENTARC_CHANNEL = CHANNEL;
    process.env.CLOUD_EVENTARC_EMULATOR_HOST = "http://127.0.0.1:9299";
    const { events, initializeApp, publish } = load();
    await events.publishEvent("onStart", data);
    await events.publishEvent("onPending", data);
    expect(publish).toHaveBeenCalledTimes(2);
    expect(initializeApp).toHaveBeenCalledTimes(2);
    expect(initializeApp.mock.calls[0]).toEqual([]);
    const [options, name] = initializeApp.mock.calls[1] as [{ credential: { getAccessToken(): Promise<unknown> } }, string];
    expect(name).toBe("firestore-send-email-events");
    await expect(options.credential.getAccessToken()).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  describe("the original's doc and err", () => {
    const mail = {
      to: "a@example.com",
      message: {
        subject: "s",
        attachments: [{ path: "https://files.example.com/a.pdf", httpHeaders: { Authorization: "Bearer s3cr3t" } }],
      },
    };

    /** A version of mail/m1 as the transition left it, built with this copy's Timestamp. */
    function version(loaded: Loaded, delivery: Record<string, unknown>) {
      const { Timestamp } = loaded.firestore;
      return {
        path: "mail/m1",
        projectId: "demo-events",
        data: { ...mail, delivery: { ...delivery, startTime: new Timestamp(1_800_000_000, 5) } },
        createTime: new Timestamp(1_800_000_000, 1_000),
        updateTime: new Timestamp(1_800_000_001, 2_000),
      };
    }

    test("onStart, onProcessing, onSuccess and onComplete carry doc as a serialised DocumentSnapshot", async () => {
      process.env.EVENTARC_CHANNEL = CHANNEL;
      const loaded = load();
      const document = version(loaded, { state: "SUCCESS", attempts: 1 });
      for (const type of ["onStart", "onProcessing", "onSuccess", "onComplete"] as const) {
        await loaded.events.publishEvent(type, data, document);
      }
      expect(loaded.publish).toHaveBeenCalledTimes(4);
      for (const [event] of loaded.publish.mock.calls as Array<[{ data: Record<string, unknown> }]>) {
        const payload = JSON.parse(JSON.stringify(event.data));
        // The documented fields stay as they were.
        expect(payload).toMatchObject(data);
        expect(payload).not.toHaveProperty("err");
        expect(payload.doc).toMatchObject({
          _fieldsProto: {
            to: { stringValue: "a@example.com", valueType: "stringValue" },
            delivery: {
              mapValue: {
                fields: {
                  state: { stringValue: "SUCCESS", valueType: "stringValue" },
                  attempts: { integerValue: "1", valueType: "integerValue" },
                  startTime: { timestampValue: { seconds: "1800000000", nanos: 5 }, valueType: "timestampValue" },
                },
              },
            },
          },
          _ref: { _firestore: { projectId: "demo-events" }, _path: { segments: ["mail", "m1"] } },
          _createTime: { _seconds: 1_800_000_000, _nanoseconds: 1_000 },
          _updateTime: { _seconds: 1_800_000_001, _nanoseconds: 2_000 },
          _readTime: { _seconds: 1_800_000_001, _nanoseconds: 2_000 },
        });
        expect(JSON.stringify(payload)).not.toContain("s3cr3t");
      }
    });

    test("onPending and onRetry carry doc as the document's data; onError adds err, the text in delivery.error", async () => {
      process.env.EVENTARC_CHANNEL = CHANNEL;
      const loaded = load();
      const { publishEvent } = loaded.events;
      await publishEvent("onPending", { ...data, state: "PENDING", info: null }, version(loaded, { state: "PENDING" }));
      await publishEvent("onRetry", { ...data, state: "PROCESSING", info: null }, version(loaded, { state: "PROCESSING" }));
      const failed = { ...data, state: "ERROR", error: "550 refused", info: null };
      await loaded.events.publishEvent("onError", failed, version(loaded, { state: "ERROR", error: "550 refused" }));

      const payloads = sentPayloads(loaded);
      expect(payloads.map((payload) => payload.doc.delivery.state)).toEqual(["PENDING", "PROCESSING", "ERROR"]);
      for (const payload of payloads) {
        const startTime = { _seconds: 1_800_000_000, _nanoseconds: 5 };
        expect(payload.doc).toMatchObject({ to: "a@example.com", delivery: { startTime } });
        expect(payload.doc.message.attachments[0].httpHeaders).toEqual({ Authorization: "[REDACTED]" });
        expect(payload.doc).not.toHaveProperty("_fieldsProto");
      }
      expect(payloads[0]).not.toHaveProperty("err");
      expect(payloads[2]).toMatchObject({ state: "ERROR", error: "550 refused", err: "550 refused" });
      expect(payloads[2].doc.delivery.error).toBe(payloads[2].err);
    });

    test("a document that cannot be serialised still publishes the documented fields, and is logged", async () => {
      process.env.EVENTARC_CHANNEL = CHANNEL;
      const loaded = load();
      const unexpected = jest.spyOn(loaded.logs, "unexpectedError").mockImplementation(() => undefined);
      const document = { ...version(loaded, { state: "SUCCESS" }), data: { odd: new Map([["a", 1]]) } };
      await loaded.events.publishEvent("onSuccess", data, document);
      expect(loaded.publish).toHaveBeenCalledWith({ type: `${PREFIX}onSuccess`, subject: "m1", data });
      expect(unexpected).toHaveBeenCalledWith("mail/m1", expect.any(TypeError));
    });

    test("a batch follows its writes: each event carries the version its transition produced", async () => {
      process.env.EVENTARC_CHANNEL = CHANNEL;
      const loaded = load();
      const { FieldValue, Timestamp } = loaded.firestore;
      // Stands in for the client, whose JSON form names the project.
      const firestore = { toJSON: () => ({ projectId: "demo-events" }) } as unknown as Firestore;
      const created = new Timestamp(100, 0);
      const start = { data: { to: "a@example.com" }, createTime: created, updateTime: created, firestore };
      const events = loaded.batch.eventBatch("mail/m1", start, loaded.events.publisher);
      events.wrote({ delivery: { state: "PENDING", attempts: 0 } }, new Timestamp(101, 0));
      events.moved({ from: "new", to: "PENDING", attempts: 0 });
      const failed = {
        "delivery.state": "ERROR",
        "delivery.attempts": FieldValue.increment(1),
        "delivery.endTime": FieldValue.serverTimestamp(),
      };
      events.wrote(failed, new Timestamp(102, 7_654_321));
      events.moved({ from: "PROCESSING", to: "ERROR", attempts: 1, error: "550 refused" });
      await events.flush();

      // onStart comes first, as for every new mail.
      const payloads = sentPayloads(loaded).slice(1);
      expect(payloads[0].doc).toEqual({ to: "a@example.com", delivery: { state: "PENDING", attempts: 0 } });
      expect(payloads[1].doc).toEqual({
        to: "a@example.com",
        delivery: { state: "ERROR", attempts: 1, endTime: { _seconds: 102, _nanoseconds: 7_000_000 } },
      });
      expect(payloads[1].err).toBe("550 refused");
      expect(payloads[2].doc._fieldsProto.delivery.mapValue.fields.state.stringValue).toBe("ERROR");
      expect(payloads[2].doc._updateTime).toEqual({ _seconds: 102, _nanoseconds: 7_654_321 });
      expect(payloads[2].doc._createTime).toEqual({ _seconds: 100, _nanoseconds: 0 });
    });
  });
});
