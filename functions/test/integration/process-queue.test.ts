/**
 * processQueue end to end against the Google Firestore emulator and a real
 * SMTP server: the delivery contract as users observe it on the document and
 * in the mailbox.
 */
import { LEASE_GRACE_MS, LEASE_MS } from "../../src/shared/budget";
import { runMaintenance } from "../helpers/extension-env";
import { Timestamp } from "firebase-admin/firestore";
import { processQueue } from "../helpers/extension-env";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM as FROM, mailHarness } from "../helpers/mail-harness";
import { writeEvent } from "../helpers/trigger";

const PROJECT = "demo-process-queue";

describeWithEmulator("processQueue against Firestore and SMTP", () => {
  const h = mailHarness(PROJECT);
  const { useSink, nextPath } = h;

  test("a new document goes PENDING → PROCESSING → SUCCESS with every delivery field", async () => {
    await useSink();
    const before = Date.now();
    const snap = await h.trigger.create(nextPath(), {
      to: "alice@example.com",
      message: { subject: "Welcome", text: "Hello Alice", html: "<p>Hello Alice</p>" },
    });
    const delivery = snap.get("delivery");
    expect(delivery.state).toBe("SUCCESS");
    expect(delivery.attempts).toBe(1);
    expect(delivery.error).toBeNull();
    expect(delivery.leaseExpireTime).toBeNull();
    expect(delivery.startTime).toBeInstanceOf(Timestamp);
    expect(delivery.endTime).toBeInstanceOf(Timestamp);
    expect(delivery.startTime.toMillis()).toBeGreaterThanOrEqual(before - 1000);
    expect(delivery.endTime.toMillis()).toBeGreaterThanOrEqual(delivery.startTime.toMillis());
    expect(delivery.info).toEqual({
      messageId: expect.stringMatching(/^<.+@.+>$/),
      accepted: ["alice@example.com"],
      rejected: [],
      pending: [],
      response: expect.stringMatching(/^250 /),
    });

    expect(h.sink.messages).toHaveLength(1);
    const mail = h.sink.messages[0];
    expect(mail.parsed.subject).toBe("Welcome");
    expect(mail.parsed.text?.trim()).toBe("Hello Alice");
    expect(mail.parsed.html).toContain("<p>Hello Alice</p>");
    expect(mail.parsed.messageId).toBe(delivery.info.messageId);
    expect(mail.envelope.rcptTo).toEqual(["alice@example.com"]);
  });

  test("one trigger hop: the invocation for the client's write sends, later events write nothing", async () => {
    await useSink();
    const path = nextPath();
    const ref = h.db.doc(path);
    const empty = await ref.get();
    await ref.create({ to: "bob@example.com", message: { subject: "s", text: "t" } });
    const created = await h.trigger.fire(path, empty);
    const afterFirst = await ref.get();
    expect(afterFirst.get("delivery.state")).toBe("SUCCESS");
    expect(h.sink.messages).toHaveLength(1);

    // The events caused by the extension's own writes (here, the last one) change nothing.
    await processQueue.run(writeEvent(created, afterFirst));
    expect((await ref.get()).updateTime?.isEqual(afterFirst.updateTime!)).toBe(true);
  });

  test("to, cc and bcc reach the envelope; bcc stays out of the headers", async () => {
    await useSink();
    const snap = await h.trigger.create(nextPath(), {
      to: ["a@example.com", "b@example.com"],
      cc: "c@example.com",
      bcc: ["d@example.com"],
      message: { subject: "Team", text: "hi" },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const mail = h.sink.messages[0];
    expect([...mail.envelope.rcptTo].sort()).toEqual(["a@example.com", "b@example.com", "c@example.com", "d@example.com"]);
    expect(mail.parsed.headers.get("cc")).toBeTruthy();
    expect(mail.parsed.headers.get("bcc")).toBeUndefined();
    expect(mail.raw).not.toContain("d@example.com");
  });

  test("from and replyTo fall back to DEFAULT_FROM and DEFAULT_REPLY_TO; the document's own win", async () => {
    await useSink({}, { DEFAULT_REPLY_TO: "support@example.com" });
    await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "x", text: "y" } });
    await h.trigger.create(nextPath(), {
      to: "a@example.com",
      from: "Sales <sales@example.com>",
      replyTo: "sales-replies@example.com",
      message: { subject: "x", text: "y" },
    });
    const [first, second] = h.sink.messages;
    expect(first.parsed.from?.value[0]).toMatchObject({ name: "Example App", address: "noreply@example.com" });
    expect(first.envelope.mailFrom).toBe("noreply@example.com");
    expect(first.parsed.replyTo?.text).toBe("support@example.com");
    expect(second.parsed.from?.value[0]).toMatchObject({ name: "Sales", address: "sales@example.com" });
    expect(second.parsed.replyTo?.text).toBe("sales-replies@example.com");
  });

  test("a 550 for every recipient ends in ERROR with the server's reply", async () => {
    await useSink({ rejectRecipients: { "nobody@example.com": 550 } });
    const snap = await h.trigger.create(nextPath(), { to: "nobody@example.com", message: { subject: "x", text: "y" } });
    const delivery = snap.get("delivery");
    expect(delivery.state).toBe("ERROR");
    expect(delivery.attempts).toBe(1);
    expect(delivery.error).toContain("550");
    expect(delivery.info).toBeUndefined();
    expect(delivery.leaseExpireTime).toBeNull();
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a 550 for one of two recipients is a SUCCESS that lists the rejected address", async () => {
    await useSink({ rejectRecipients: { "gone@example.com": 550 } });
    const snap = await h.trigger.create(nextPath(), {
      to: ["here@example.com", "gone@example.com"],
      message: { subject: "x", text: "y" },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.accepted")).toEqual(["here@example.com"]);
    expect(snap.get("delivery.info.rejected")).toEqual(["gone@example.com"]);
    expect(h.sink.messages[0].envelope.rcptTo).toEqual(["here@example.com"]);
  });

  test("RETRY after ERROR sends the document's current content and counts the attempt", async () => {
    await useSink({ rejectRecipients: { "typo@exmaple.com": 550 } });
    const path = nextPath();
    let snap = await h.trigger.create(path, { to: "typo@exmaple.com", message: { subject: "x", text: "y" } });
    expect(snap.get("delivery.state")).toBe("ERROR");

    snap = await h.trigger.update(path, { to: "fixed@example.com", "delivery.state": "RETRY" });
    const delivery = snap.get("delivery");
    expect(delivery.state).toBe("SUCCESS");
    expect(delivery.attempts).toBe(2);
    expect(delivery.error).toBeNull();
    expect(delivery.info.accepted).toEqual(["fixed@example.com"]);
    expect(h.sink.messages.map((m) => m.envelope.rcptTo)).toEqual([["fixed@example.com"]]);
  });

  test("RETRY and PENDING after SUCCESS send again; other edits send nothing", async () => {
    await useSink();
    const path = nextPath();
    await h.trigger.create(path, { to: "a@example.com", message: { subject: "one", text: "y" } });
    await h.trigger.update(path, { "message.subject": "edited" });
    expect(h.sink.messages).toHaveLength(1);

    let snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery.attempts")).toBe(2);
    snap = await h.trigger.update(path, { "delivery.state": "PENDING" });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.attempts")).toBe(3);
    expect(h.sink.messages.map((m) => m.parsed.subject)).toEqual(["one", "edited", "edited"]);
  });

  test("a failed retry does not keep the earlier attempt's info", async () => {
    await useSink({ rejectRecipients: { "later-gone@example.com": 550 } });
    const path = nextPath();
    await h.trigger.create(path, { to: "a@example.com", message: { subject: "x", text: "y" } });
    const snap = await h.trigger.update(path, { to: "later-gone@example.com", "delivery.state": "RETRY" });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.info")).toBeUndefined();
    expect(snap.get("delivery.attempts")).toBe(2);
  });

  test("PROCESSING with a lease that ended long ago ends in ERROR without sending, a lease's length after it was written", async () => {
    await useSink();
    const path = nextPath();
    const written = await h.trigger.create(path, {
      to: "a@example.com",
      message: { subject: "x", text: "y" },
      delivery: {
        state: "PROCESSING",
        attempts: 0,
        startTime: Timestamp.fromMillis(Date.now() - LEASE_GRACE_MS - 120_000),
        leaseExpireTime: Timestamp.fromMillis(Date.now() - LEASE_GRACE_MS - 60_000),
      },
    });
    // A lease runs at least LEASE_MS from the version that carries it (a
    // claim can land long after it was requested): the write's own event
    // leaves it, and the sweep ends it only after that and the grace.
    expect(written.get("delivery.state")).toBe("PROCESSING");
    const writtenAt = written.updateTime!.toMillis();
    expect((await runMaintenance(writtenAt + LEASE_MS + LEASE_GRACE_MS - 1000)).expired).toBe(0);
    expect((await runMaintenance(writtenAt + LEASE_MS + LEASE_GRACE_MS + 1000)).expired).toBe(1);
    const snap = await h.db.doc(path).get();
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe(LEASE_EXPIRED_ERROR);
    expect(snap.get("delivery.endTime")).toBeInstanceOf(Timestamp);
    expect(snap.get("delivery.leaseExpireTime")).toBeNull();
    expect(h.sink.messages).toHaveLength(0);
  });

  test("PROCESSING under a live lease is left alone", async () => {
    await useSink();
    const path = nextPath();
    const lease = Timestamp.fromMillis(Date.now() + 60_000);
    const snap = await h.trigger.create(path, {
      to: "a@example.com",
      message: { subject: "x", text: "y" },
      delivery: { state: "PROCESSING", attempts: 0, leaseExpireTime: lease },
    });
    expect(snap.get("delivery.state")).toBe("PROCESSING");
    expect(snap.get("delivery.leaseExpireTime").isEqual(lease)).toBe(true);
    expect(h.sink.messages).toHaveLength(0);
  });

  test("the same event delivered five times at once sends exactly one email", async () => {
    await useSink();
    const path = nextPath();
    const ref = h.db.doc(path);
    const empty = await ref.get();
    await ref.create({ to: "once@example.com", message: { subject: "once", text: "y" } });
    const created = await ref.get();
    const event = writeEvent(empty, created);
    await Promise.all(Array.from({ length: 5 }, () => processQueue.run(event)));
    const snap = await ref.get();
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(h.sink.messages).toHaveLength(1);
  });

  test("a malformed document ends in ERROR naming the field, and sends nothing", async () => {
    await useSink();
    const snap = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: 42, text: "y" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Invalid message configuration: Field 'message.subject' must be a string");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(snap.get("delivery.endTime")).toBeInstanceOf(Timestamp);
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a document without message, template or sendGrid ends in ERROR", async () => {
    await useSink();
    const snap = await h.trigger.create(nextPath(), { to: "a@example.com" });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toMatch(/message/);
    expect(h.sink.messages).toHaveLength(0);
  });

  test("no recipient at all ends in the original's error", async () => {
    await useSink();
    const snap = await h.trigger.create(nextPath(), { message: { subject: "x", text: "y" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Failed to deliver email. Expected at least 1 recipient.");
  });

  test("an unknown delivery.state ends in ERROR naming it", async () => {
    await useSink();
    const snap = await h.trigger.create(nextPath(), {
      to: "a@example.com",
      message: { subject: "x", text: "y" },
      delivery: { state: "SENDING" },
    });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("'SENDING'");
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a password with #, @ and % logs in, literally as SMTP_PASSWORD or percent-encoded inside the URI", async () => {
    const password = "p#ss@w%rd";
    await useSink({ auth: { user: "mailer", password } }, {});
    for (const params of [
      { SMTP_CONNECTION_URI: `smtp://mailer@127.0.0.1:${h.sink.port}`, SMTP_PASSWORD: password },
      { SMTP_CONNECTION_URI: `smtp://mailer:${encodeURIComponent(password)}@127.0.0.1:${h.sink.port}` },
    ]) {
      configureExtension({ ...params, DEFAULT_FROM: FROM });
      const snap = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "x", text: "y" } });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
    }
    expect(h.sink.messages).toHaveLength(2);
  });

  test("a refused password ends in ERROR without the password in the document", async () => {
    await useSink({ auth: { user: "mailer", password: "right-secret" } });
    configureExtension({
      SMTP_CONNECTION_URI: `smtp://mailer@127.0.0.1:${h.sink.port}`,
      SMTP_PASSWORD: "wrong-secret-value",
      DEFAULT_FROM: FROM,
    });
    const snap = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "x", text: "y" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("535");
    expect(JSON.stringify(snap.data())).not.toContain("wrong-secret-value");
  });

  test("a broken SMTP URI fails each mail with the original's text, and a fixed config recovers", async () => {
    await useSink();
    configureExtension({ SMTP_CONNECTION_URI: "smtp://", DEFAULT_FROM: FROM });
    const snap = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "x", text: "y" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("Invalid URI: please reconfigure with a valid SMTP connection URI");

    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${h.sink.port}`, DEFAULT_FROM: FROM });
    const fixed = await h.trigger.create(nextPath(), { to: "a@example.com", message: { subject: "x", text: "y" } });
    expect(fixed.get("delivery.state")).toBe("SUCCESS");
  });
});
