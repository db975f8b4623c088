/**
 * Recipients by user id end to end: user documents in the Firestore
 * emulator, addresses checked on the message a real SMTP server received.
 */
import type { AddressObject } from "mailparser";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM as FROM, mailHarness } from "../helpers/mail-harness";

// The module object itself (not an import's copy of it), so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-recipients-issue3";

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((group) => group.value.map((entry) => entry.address ?? ""));

describeWithEmulator("recipients by user id", () => {
  const h = mailHarness(PROJECT);
  const { nextPath } = h;

  beforeEach(async () => {
    await h.useSink({}, { USERS_COLLECTION: "users" });
    await Promise.all([
      h.db.doc("users/ada").set({ email: "ada@example.com", displayName: "Ada", phone: "+44 20 0000 0000" }),
      h.db.doc("users/bob").set({ email: "bob@example.com" }),
      h.db.doc("users/cyd").set({ email: "cyd@example.com" }),
      h.db.doc("users/no-email").set({ displayName: "Has no address" }),
    ]);
  });

  afterEach(() => jest.restoreAllMocks());


  test("uids are appended after the explicit addresses; unknown ones are skipped and logged by uid only", async () => {
    const warn = jest.spyOn(functionsLogger, "warn");
    const path = nextPath();
    const snap = await h.trigger.create(path, {
      to: "explicit@example.com",
      toUids: ["ada", "ghost"],
      ccUids: ["bob", "no-email"],
      bccUids: ["cyd"],
      message: { subject: "Team update", text: "hi" },
    });

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.accepted")).toEqual(
      expect.arrayContaining(["explicit@example.com", "ada@example.com", "bob@example.com", "cyd@example.com"]),
    );
    const mail = (await h.sink.waitForMessages(1))[0];
    expect(addresses(mail.parsed.to)).toEqual(["explicit@example.com", "ada@example.com"]);
    expect(addresses(mail.parsed.cc)).toEqual(["bob@example.com"]);
    expect(mail.parsed.bcc).toBeUndefined();
    expect([...mail.envelope.rcptTo].sort()).toEqual(
      ["ada@example.com", "bob@example.com", "cyd@example.com", "explicit@example.com"],
    );

    const skipped = warn.mock.calls.find(([line]) => String(line).includes("user ids"));
    expect(skipped?.[1]).toMatchObject({ event: "uids-without-email", mailPath: path, count: 2, uids: ["ghost", "no-email"] });
    const logged = JSON.stringify(warn.mock.calls);
    for (const address of ["ada@", "bob@", "cyd@", "explicit@"]) expect(logged).not.toContain(address);
  });

  test("each uid is read once, and only its email field", async () => {
    const getAll = jest.spyOn(h.db, "getAll");
    const snap = await h.trigger.create(nextPath(), {
      toUids: ["ada", "bob", "ada"],
      ccUids: ["bob"],
      bccUids: ["ada"],
      message: { subject: "Once", text: "hi" },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    // Document reads of the mail itself also go through getAll; the user lookup is the one on users/.
    const lookups = getAll.mock.calls.filter((args) => args.some((arg) => (arg as { path?: string }).path?.startsWith("users/")));
    expect(lookups).toHaveLength(1);
    const args = [...(lookups[0] as unknown[])];
    expect(args.pop()).toEqual({ fieldMask: ["email"] });
    expect(args.map((ref) => (ref as { path: string }).path)).toEqual(["users/ada", "users/bob"]);
    const mail = (await h.sink.waitForMessages(1))[0];
    expect([...new Set(mail.envelope.rcptTo)].sort()).toEqual(["ada@example.com", "bob@example.com"]);
  });

  test("uids without a users collection end in ERROR with the original's text", async () => {
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${h.sink.port}`, DEFAULT_FROM: FROM });
    const snap = await h.trigger.create(nextPath(), {
      to: "explicit@example.com",
      toUids: ["ada"],
      message: { subject: "x", text: "y" },
    });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Must specify a users collection to send using uids.");
    expect(h.sink.messages).toHaveLength(0);
  });

  test("no recipient left after the lookup ends in ERROR", async () => {
    const snap = await h.trigger.create(nextPath(), {
      toUids: ["ghost", "no-email"],
      message: { subject: "x", text: "y" },
    });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Failed to deliver email. Expected at least 1 recipient.");
    expect(h.sink.messages).toHaveLength(0);
  });
});
