/**
 * The exported `webhooks` function as Cloud Functions runs it: its params
 * read from the environment, the mail collection (wildcards included) and
 * database from the extension's params, Firestore built on first use.
 */
import { webhooks } from "../../helpers/extension-env";
import { describeWithEmulator, emulatorFirestore } from "../../helpers/emulator-fixture";
import { configureExtension } from "../../helpers/extension-env";
import { serveHttpFunction, type WebhookServer } from "../../helpers/webhook-server";
import { mailgunBody, tracked } from "../../helpers/webhook-signing";

const PROJECT = "demo-webhook-function";
const KEY = "mailgun-key-for-the-function-test";

describeWithEmulator("the webhooks function", () => {
  const db = emulatorFirestore(PROJECT);
  let server: WebhookServer;

  beforeAll(async () => {
    server = await serveHttpFunction(webhooks as unknown as Parameters<typeof serveHttpFunction>[0]);
  });
  afterAll(async () => {
    await server.close();
    configureExtension({});
  });

  const delivered = (path: string) => ({
    event: "delivered",
    id: `ev-${path}`,
    timestamp: Date.now() / 1000,
    recipient: "ada@example.com",
    "user-variables": tracked(path, "mailgun", KEY),
  });

  test("with nothing configured every path answers 404", async () => {
    configureExtension({});
    for (const path of ["/sendgrid", "/mailgun", "/postmark", "/unsubscribe?t=x", "/"]) {
      expect((await server.post(path, "{}")).status).toBe(404);
    }
  });

  test("records an event for a mail in a wildcard mail collection, and ignores paths outside it", async () => {
    configureExtension({ MAILGUN_WEBHOOK_SIGNING_KEY: KEY, MAIL_COLLECTION: "tenants/{tenant}/mail" });
    await db.doc("tenants/acme/mail/m1").set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
    await db.doc("tenants/acme/other/m1").set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });

    const inside = await server.post("/mailgun", mailgunBody(KEY, delivered("tenants/acme/mail/m1")));
    expect(await inside.json()).toEqual({ recorded: 1, duplicates: 0, ignored: 0 });
    expect((await db.doc("tenants/acme/mail/m1").get()).get("deliveryStatus.recipients")["ada@example.com"].status).toBe("delivered");

    const outside = await server.post("/mailgun", mailgunBody(KEY, delivered("tenants/acme/other/m1")));
    expect(await outside.json()).toEqual({ recorded: 0, duplicates: 0, ignored: 1 });
    expect((await db.doc("tenants/acme/other/m1").get()).get("deliveryStatus")).toBeUndefined();
  });

  test("an invalid param is answered 500 (the provider retries) and logged, not crashed on", async () => {
    configureExtension({ MAILGUN_WEBHOOK_SIGNING_KEY: KEY, EVENT_HISTORY: "sometimes" });
    const response = await server.post("/mailgun", mailgunBody(KEY, delivered("mail/x")));
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain(KEY);
  });
});
