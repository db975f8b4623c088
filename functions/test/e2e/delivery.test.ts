/**
 * The extension as the Extensions emulator runs it from extension.yaml, with
 * the params of scripts/e2e.js, sending to a real SMTP sink (maildev): what
 * a user sees on the document and in the mailbox.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { defaultFrom, e2eFirestore, viewerMessage, waitForDocument, waitForFinalState } from "./e2e-env";

describe("the installed extension, end to end", () => {
  let db: Firestore;

  beforeAll(() => {
    db = e2eFirestore();
  });

  afterAll(async () => {
    await db.terminate();
  });

  test("a new mail document is delivered, with every delivery field recorded", async () => {
    const before = Date.now();
    const ref = await db.collection("mail").add({
      to: ["ada@example.com"],
      cc: "charles@example.com",
      message: { subject: "End to end", text: "Hello from the emulators", html: "<p>Hello from the <b>emulators</b></p>" },
    });
    const snap = await waitForFinalState(ref);
    const delivery = snap.get("delivery");

    expect(delivery.state).toBe("SUCCESS");
    expect(delivery.attempts).toBe(1);
    expect(delivery.error).toBeNull();
    expect(delivery.leaseExpireTime).toBeNull();
    expect(delivery.startTime).toBeInstanceOf(Timestamp);
    expect(delivery.endTime).toBeInstanceOf(Timestamp);
    expect(delivery.startTime.toMillis()).toBeGreaterThanOrEqual(before - 5000);
    expect(delivery.endTime.toMillis()).toBeGreaterThanOrEqual(delivery.startTime.toMillis());
    expect(delivery.expireAt).toBeUndefined(); // TTL_EXPIRE_TYPE is never
    expect(delivery.info).toEqual({
      messageId: expect.stringMatching(/^<.+@.+>$/),
      accepted: ["ada@example.com", "charles@example.com"],
      rejected: [],
      pending: [],
      response: expect.stringMatching(/^250 /),
    });

    const mail = await viewerMessage(delivery.info.messageId);
    expect(mail.subject).toBe("End to end");
    expect(mail.text?.trim()).toBe("Hello from the emulators");
    expect(mail.html).toContain("<b>emulators</b>");
    const from = /^(.*) <(.*)>$/.exec(defaultFrom())!;
    expect(mail.from).toEqual([{ name: from[1], address: from[2] }]);
    expect(mail.envelope.to.map((to) => to.address).sort()).toEqual(["ada@example.com", "charles@example.com"]);
  });

  test("a failed mail, corrected and set to RETRY, is sent on its second attempt", async () => {
    const ref = await db.collection("mail").add({ message: { subject: "Retry me", text: "Second time lucky" } });
    const failed = await waitForFinalState(ref);
    expect(failed.get("delivery.state")).toBe("ERROR");
    expect(failed.get("delivery.attempts")).toBe(1);
    expect(failed.get("delivery.error")).toBe("Failed to deliver email. Expected at least 1 recipient.");

    await ref.update({ to: "grace@example.com", "delivery.state": "RETRY" });
    const retried = await waitForDocument(ref, (snap) => snap.get("delivery.state") === "SUCCESS" || snap.get("delivery.attempts") >= 2);
    expect(retried.get("delivery.state")).toBe("SUCCESS");
    expect(retried.get("delivery.attempts")).toBe(2);
    expect(retried.get("delivery.error")).toBeNull();
    expect(retried.get("delivery.endTime").toMillis()).toBeGreaterThan(failed.get("delivery.endTime").toMillis());

    const mail = await viewerMessage(retried.get("delivery.info.messageId"));
    expect(mail.subject).toBe("Retry me");
    expect(mail.to.map((to) => to.address)).toEqual(["grace@example.com"]);
  });

  test("a template from TEMPLATES_COLLECTION is rendered with the document's data", async () => {
    await db.doc("templates/e2e-welcome").set({
      subject: "Welcome, {{name}}!",
      text: "Hello {{name}}, your code is {{code}}.",
      html: "<p>Hello {{name}}</p><a href=\"{{{link}}}\">start</a>",
    });
    const ref = await db.collection("mail").add({
      to: "linus@example.com",
      template: { name: "e2e-welcome", data: { name: "Linus <admin>", code: 42, link: "https://example.com/?a=1&b=2" } },
    });
    const snap = await waitForFinalState(ref);
    expect(snap.get("delivery.state")).toBe("SUCCESS");

    const mail = await viewerMessage(snap.get("delivery.info.messageId"));
    expect(mail.subject).toBe("Welcome, Linus <admin>!");
    expect(mail.text?.trim()).toBe("Hello Linus <admin>, your code is 42.");
    expect(mail.html).toContain("<p>Hello Linus &lt;admin&gt;</p>");
    expect(mail.html).toContain('href="https://example.com/?a=1&b=2"');
  });
});
