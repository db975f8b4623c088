/**
 * Three attacks driven from outside, through the exported `webhooks` and
 * `processQueue` functions as Cloud Functions runs them, against the
 * Firestore emulator and a real SMTP server: a reused Mailgun token, an
 * event for an address the mail never had, and a mail document that sets a
 * provider's tracking header to steer events into another user's mail. Each
 * must write nothing.
 */
import { randomBytes } from "node:crypto";
import { webhooks } from "../helpers/extension-env";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { serveHttpFunction, type WebhookServer } from "../helpers/webhook-server";
import { mailgunBodyWithToken, tracked } from "../helpers/webhook-signing";

const KEY = "mailgun-key-for-the-function-security-test";
const SUPPRESSED = "suppressed";

describeWithEmulator("the webhooks function refuses what its signatures do not vouch for", () => {
  const h = mailHarness("demo-webhook-function-security");
  let server: WebhookServer;
  const params = { MAILGUN_WEBHOOK_SIGNING_KEY: KEY, SUPPRESSION_COLLECTION: SUPPRESSED };

  beforeAll(async () => {
    server = await serveHttpFunction(webhooks as unknown as Parameters<typeof serveHttpFunction>[0]);
  });
  afterAll(async () => {
    await server.close();
    configureExtension({});
  });

  const failed = (path: string, recipient: string, id: string) => ({
    event: "failed",
    severity: "permanent",
    reason: "bounce",
    id,
    timestamp: Date.now() / 1000,
    recipient,
    "user-variables": tracked(path, "mailgun", KEY),
  });
  const post = (data: Record<string, unknown>, token = randomBytes(25).toString("hex")) => server.post("/mailgun", mailgunBodyWithToken(KEY, data, token));
  const suppressions = async () => (await h.db.collection(SUPPRESSED).get()).size;

  test("a reused Mailgun token writes nothing", async () => {
    configureExtension(params);
    await h.db.doc("mail/a").set({ to: ["ada@example.com", "bob@example.com"], delivery: { state: "SUCCESS" } });
    const token = randomBytes(25).toString("hex");
    expect((await post(failed("mail/a", "ada@example.com", "mg-1"), token)).status).toBe(200);
    const before = await h.db.doc("mail/a").get();
    expect((await post(failed("mail/a", "bob@example.com", "mg-2"), token)).status).toBe(403);
    expect((await h.db.doc("mail/a").get()).updateTime!.isEqual(before.updateTime!)).toBe(true);
    expect((await h.db.doc(`${SUPPRESSED}/bob@example.com`).get()).exists).toBe(false);
  });

  test("an event for an address the mail never had writes nothing", async () => {
    configureExtension(params);
    await h.db.doc("mail/b").set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
    const before = await h.db.doc("mail/b").get();
    expect((await post(failed("mail/b", "stranger@example.org", "mg-3"))).status).toBe(200);
    expect((await h.db.doc("mail/b").get()).updateTime!.isEqual(before.updateTime!)).toBe(true);
    expect(await suppressions()).toBe(0);
  });

  test("a mail document setting a tracking header is refused, and the value it tried to plant writes nothing", async () => {
    await h.useSink({}, params);
    await h.db.doc("mail/victim").set({ to: "victim@example.com", delivery: { state: "SUCCESS" } });
    const planted = JSON.stringify({ fse_mail: "mail/victim" });
    const attacker = await h.trigger.create(h.nextPath(), {
      to: "victim@example.com",
      headers: { "X-Mailgun-Variables": planted },
      message: { subject: "hi", text: "hi" },
    });
    expect(attacker.get("delivery.state")).toBe("ERROR");
    expect(attacker.get("delivery.error")).toContain("X-Mailgun-Variables");
    expect(h.sink.messages).toHaveLength(0);

    // What Mailgun would have repeated had the header gone out: a genuinely signed event carrying it.
    const echoed = { ...failed("mail/victim", "victim@example.com", "mg-4"), "user-variables": JSON.parse(planted) };
    expect((await post(echoed)).status).toBe(200);
    expect((await h.db.doc("mail/victim").get()).get("deliveryStatus")).toBeUndefined();
    expect(await suppressions()).toBe(0);
  });
});
