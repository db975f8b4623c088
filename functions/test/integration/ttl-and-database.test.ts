/**
 * TTL (`delivery.expireAt`) and named databases end to end, against the
 * Firestore emulator and a real SMTP server.
 */
import { Timestamp } from "firebase-admin/firestore";
import { processQueue } from "../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { Trigger } from "../helpers/trigger";

const PROJECT = "demo-ttl-database-issue3";
const NAMED = "mail-db";
const FROM = "Example App <noreply@example.com>";

describeWithEmulator("TTL and named databases", () => {
  const db = emulatorFirestore(PROJECT);
  const named = emulatorFirestore(PROJECT, NAMED);
  let sink: SmtpSink;
  let n = 0;
  const nextPath = () => `mail/d${++n}`;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });

  beforeEach(() => {
    sink.messages.length = 0;
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await sink?.close();
  });

  const configure = (params: Record<string, string> = {}) =>
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM: FROM, ...params });

  const iso = (value: unknown): string => (value as Timestamp).toDate().toISOString();

  describe("delivery.expireAt", () => {
    // The extension's clock is pinned so that month ends and leap days can be
    // chosen; startTime and expireAt are then both known exactly.
    test.each([
      ["hour", "2", "2025-05-20T10:15:30.250Z", "2025-05-20T12:15:30.250Z"],
      ["day", "2", "2025-05-20T10:15:30.250Z", "2025-05-22T10:15:30.250Z"],
      ["week", "2", "2025-05-20T10:15:30.250Z", "2025-06-03T10:15:30.250Z"],
      ["month", "2", "2025-05-20T10:15:30.250Z", "2025-07-20T10:15:30.250Z"],
      ["month", "1", "2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z"],
      ["year", "1", "2024-02-29T10:00:00.000Z", "2025-02-28T10:00:00.000Z"],
    ])("%s × %s from %s: expireAt is %s", async (unit, value, start, expected) => {
      configure({ TTL_EXPIRE_TYPE: unit, TTL_EXPIRE_VALUE: value });
      jest.spyOn(Date, "now").mockReturnValue(Date.parse(start));

      const snap = await new Trigger(db, processQueue).create(nextPath(), {
        to: "a@example.com",
        message: { subject: "ttl", text: "x" },
      });

      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(iso(snap.get("delivery.startTime"))).toBe(start);
      expect(snap.get("delivery.expireAt")).toBeInstanceOf(Timestamp);
      expect(iso(snap.get("delivery.expireAt"))).toBe(expected);
    });

    test("a retry keeps the first expireAt", async () => {
      configure({ TTL_EXPIRE_TYPE: "hour", TTL_EXPIRE_VALUE: "1" });
      const trigger = new Trigger(db, processQueue);
      const path = nextPath();
      const now = jest.spyOn(Date, "now").mockReturnValue(Date.parse("2025-05-20T10:00:00.000Z"));
      const first = await trigger.create(path, { to: "a@example.com", message: { subject: "ttl", text: "x" } });
      now.mockReturnValue(Date.parse("2025-05-20T10:30:00.000Z"));
      const retried = await trigger.update(path, { "delivery.state": "RETRY" });
      expect(retried.get("delivery.attempts")).toBe(2);
      expect(iso(retried.get("delivery.startTime"))).toBe("2025-05-20T10:30:00.000Z");
      expect(iso(retried.get("delivery.expireAt"))).toBe(iso(first.get("delivery.expireAt")));
      expect(iso(retried.get("delivery.expireAt"))).toBe("2025-05-20T11:00:00.000Z");
    });

    test("a document failed on arrival gets expireAt too", async () => {
      configure({ TTL_EXPIRE_TYPE: "week", TTL_EXPIRE_VALUE: "1" });
      jest.spyOn(Date, "now").mockReturnValue(Date.parse("2025-05-20T10:00:00.000Z"));
      const snap = await new Trigger(db, processQueue).create(nextPath(), { to: "a@example.com", message: { subject: 7 } });
      expect(snap.get("delivery.state")).toBe("ERROR");
      expect(iso(snap.get("delivery.expireAt"))).toBe("2025-05-27T10:00:00.000Z");
    });

    test("with TTL_EXPIRE_TYPE never (the default) there is no expireAt", async () => {
      configure();
      const snap = await new Trigger(db, processQueue).create(nextPath(), {
        to: "a@example.com",
        message: { subject: "ttl", text: "x" },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(snap.get("delivery")).not.toHaveProperty("expireAt");
    });
  });

  describe("DATABASE names a non-default database", () => {
    beforeEach(async () => {
      configure({ DATABASE: NAMED, TEMPLATES_COLLECTION: "templates", USERS_COLLECTION: "users" });
      // The same names in the default database, which must not be read.
      await Promise.all([
        named.doc("templates/hello").set({ subject: "Hello from {{place}}", text: "Sent from the named database" }),
        named.doc("users/u1").set({ email: "named-user@example.com" }),
        db.doc("templates/hello").set({ subject: "WRONG DATABASE", text: "WRONG DATABASE" }),
        db.doc("users/u1").set({ email: "wrong-database@example.com" }),
      ]);
    });

    test("mail, templates and users are all read from and written to that database", async () => {
      const path = nextPath();
      const snap = await new Trigger(named, processQueue, NAMED).create(path, {
        toUids: ["u1"],
        template: { name: "hello", data: { place: NAMED } },
      });

      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(snap.get("delivery.info.accepted")).toEqual(["named-user@example.com"]);
      const mail = (await sink.waitForMessages(1))[0];
      expect(mail.parsed.subject).toBe(`Hello from ${NAMED}`);
      expect(mail.parsed.text?.trim()).toBe("Sent from the named database");
      expect(mail.envelope.rcptTo).toEqual(["named-user@example.com"]);
      expect((await db.doc(path).get()).exists).toBe(false);
    });

    test("a template that exists only in the default database is missing", async () => {
      await db.doc("templates/only-default").set({ subject: "x" });
      const snap = await new Trigger(named, processQueue, NAMED).create(nextPath(), {
        to: "a@example.com",
        template: { name: "only-default" },
      });
      expect(snap.get("delivery.state")).toBe("ERROR");
      expect(snap.get("delivery.error")).toBe("Tried to render non-existent template 'only-default'");
      expect(sink.messages).toHaveLength(0);
    });
  });
});
