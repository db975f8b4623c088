/**
 * Provider webhooks with sender profiles: `/<provider>/<profile>` is checked
 * with that profile's own key, records only its tenant's mail, and adds
 * bounces to its tenant's suppression list.
 */
import { suppressionDocId } from "../../../src/suppression/addresses";
import { describeWithEmulator, emulatorFirestore } from "../../helpers/emulator-fixture";
import { configureExtension, useSecrets, webhooks } from "../../helpers/extension-env";
import { startFakeSecretManager, type FakeSecretManager } from "../../helpers/fake-secret-manager";
import { serveHttpFunction, type WebhookServer } from "../../helpers/webhook-server";
import { mailgunBody, tracked } from "../../helpers/webhook-signing";

const PROJECT = "demo-profile-webhooks";
const KEYS = { acme: "mailgun-key-of-acme-0123456789", globex: "mailgun-key-of-globex-987654321" };
const secret = (tenant: string) => `projects/${PROJECT}/secrets/${tenant}-mailgun`;

describeWithEmulator("webhooks per sender profile", () => {
  const db = emulatorFirestore(PROJECT);
  let server: WebhookServer;
  let undo: () => void = () => undefined;
  let secretManager: FakeSecretManager;

  beforeAll(async () => {
    server = await serveHttpFunction(webhooks as unknown as Parameters<typeof serveHttpFunction>[0]);
  });
  afterAll(async () => {
    await server.close();
    configureExtension({});
  });

  beforeEach(async () => {
    configureExtension({
      MAIL_COLLECTION: "tenants/{tenant}/mail",
      SENDER_PROFILES_COLLECTION: "senderProfiles",
      SUPPRESSION_COLLECTION: "tenants/{tenant}/suppression",
      SMTP_CONNECTION_URI: "smtp://127.0.0.1:9",
      DEFAULT_FROM: "platform@example.com",
    });
    secretManager = await startFakeSecretManager();
    for (const tenant of ["acme", "globex"] as const) {
      secretManager.addVersion(secret(tenant), KEYS[tenant]);
      await db.doc(`senderProfiles/${tenant}`).set({
        params: { SMTP_CONNECTION_URI: `smtp://${tenant}@127.0.0.1:9`, DEFAULT_FROM: `hello@${tenant}.example` },
        secrets: { MAILGUN_WEBHOOK_SIGNING_KEY: `${secret(tenant)}/versions/latest` },
      });
      await db.doc(`tenants/${tenant}/mail/m1`).set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
    }
    undo = useSecrets({ endpoint: secretManager.url });
  });
  afterEach(async () => {
    undo();
    await secretManager.close();
  });

  // The tracking value is signed with a key derived from the profile's Mailgun key (TRACKING_SIGNING_KEY unset).
  const bounce = (path: string, tenant: keyof typeof KEYS) => ({
    event: "failed",
    severity: "permanent",
    reason: "bounce",
    id: `ev-${path}-${tenant}`,
    timestamp: Date.now() / 1000,
    recipient: "ada@example.com",
    "user-variables": tracked(path, "mailgun", KEYS[tenant]),
  });
  const suppressed = async (tenant: string) => (await db.doc(`tenants/${tenant}/suppression/${suppressionDocId("ada@example.com")}`).get()).exists;

  test("a profile's own key records its tenant's bounce and suppresses the address for that tenant only", async () => {
    const response = await server.post("/mailgun/acme", mailgunBody(KEYS.acme, bounce("tenants/acme/mail/m1", "acme")));
    expect(await response.json()).toEqual({ recorded: 1, duplicates: 0, ignored: 0 });
    expect((await db.doc("tenants/acme/mail/m1").get()).get("deliveryStatus.recipients")["ada@example.com"].status).toBe("bounced");
    expect(await suppressed("acme")).toBe(true);
    expect(await suppressed("globex")).toBe(false);
  });

  test("another profile's key is refused, and a profile's events cannot touch another tenant's mail", async () => {
    const forged = await server.post("/mailgun/acme", mailgunBody(KEYS.globex, bounce("tenants/acme/mail/m1", "acme")));
    expect([401, 403]).toContain(forged.status);

    const crossing = await server.post("/mailgun/globex", mailgunBody(KEYS.globex, bounce("tenants/acme/mail/m1", "globex")));
    expect(await crossing.json()).toEqual({ recorded: 0, duplicates: 0, ignored: 1 });
    expect((await db.doc("tenants/acme/mail/m1").get()).get("deliveryStatus")).toBeUndefined();
    expect(await suppressed("acme")).toBe(false);
  });

  test("a profile that does not exist answers 404", async () => {
    const response = await server.post("/mailgun/initech", mailgunBody(KEYS.acme, bounce("tenants/initech/mail/m1", "acme")));
    expect(response.status).toBe(404);
    expect((await server.post("/mailgun/acme/extra", "{}")).status).toBe(404);
  });
});
