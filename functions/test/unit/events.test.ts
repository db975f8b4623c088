/**
 * publishEvent against a stand-in for the Admin SDK's Eventarc client: when
 * it publishes, what, and that it never loads the client or throws when it
 * must not. The real client is exercised end to end in test/e2e/events.test.ts.
 */
import type { EventData } from "../../src/events";

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
  events: typeof import("../../src/events");
  logs: typeof import("../../src/logs");
  /** The logger instance that this copy of logs.ts writes to. */
  logger: typeof import("firebase-functions/logger");
  /** Whether firebase-admin/eventarc was loaded at all. */
  eventarcLoaded: () => boolean;
  publish: jest.Mock;
  channel: jest.Mock;
  initializeApp: jest.Mock;
}

/** Loads src/events.ts afresh, with the Eventarc client and firebase-admin/app replaced by recorders. */
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
      events: require("../../src/events"),
      logs: require("../../src/logs"),
      logger: require("firebase-functions/logger"),
    };
  });
  return { ...loaded, eventarcLoaded: () => eventarcLoaded, publish, channel, initializeApp };
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
});
