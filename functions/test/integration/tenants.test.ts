/**
 * Sender profiles per tenant (docs/tenants.md) against the Firestore
 * emulator and one real SMTP server per tenant: each tenant's mail leaves
 * through its own server with its own sender, a broken profile fails only
 * its own mail, a rotated secret is picked up without a restart, and
 * nothing a mail author writes can reach another tenant's profile.
 */
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension, processQueue, redirectProviders, useSecrets } from "../helpers/extension-env";
import { startSendGridApi } from "../helpers/sendgrid-api-server";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { Trigger } from "../helpers/trigger";
import { startFakeSecretManager, type FakeSecretManager } from "../helpers/fake-secret-manager";
import { suppressionDocId } from "../../src/suppression/addresses";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");
/** The structured fields of a spied logger's lines of one event. */
const logged = (spy: jest.SpiedFunction<typeof functionsLogger.info>, event: string) =>
  spy.mock.calls.map(([, fields]) => fields as Record<string, unknown> | undefined).filter((fields) => fields?.event === event);

const PROJECT = "demo-sender-profiles";
const SECRET = (name: string) => `projects/${PROJECT}/secrets/${name}/versions/latest`;

describeWithEmulator("sender profiles", () => {
  const db = emulatorFirestore(PROJECT);
  const trigger = new Trigger(db, processQueue);
  let secretManager: FakeSecretManager;
  /** Adds a version to the secret `version` names: what `latest` reads from now on. */
  const setSecret = (version: string, value: string) => void secretManager.addVersion(version.replace(/\/versions\/latest$/, ""), value);
  let sinks: SmtpSink[] = [];
  let undo: () => void = () => undefined;
  let counter = 0;

  beforeEach(async () => {
    const acme = await startSmtpSink({ auth: { user: "acme", password: "acme-pass-1" } });
    const globex = await startSmtpSink({ auth: { user: "globex", password: "globex-pass-1" } });
    sinks = [acme, globex];
    secretManager = await startFakeSecretManager();
    setSecret(SECRET("acme-smtp"), "acme-pass-1");
    setSecret(SECRET("globex-smtp"), "globex-pass-1");
    configureExtension({
      MAIL_COLLECTION: "tenants/{tenant}/mail",
      SENDER_PROFILES_COLLECTION: "senderProfiles",
      TEMPLATES_COLLECTION: "tenants/{tenant}/templates",
      SUPPRESSION_COLLECTION: "tenants/{tenant}/suppression",
      // The instance's own sender must never be used for a tenant's mail.
      SMTP_CONNECTION_URI: "smtp://instance:instance-pass@127.0.0.1:9",
      DEFAULT_FROM: "Platform <platform@example.com>",
    });
    undo = useSecrets({ endpoint: secretManager.url });
    await profile("acme", acme, "Acme <hello@acme.example>", "acme-smtp");
    await profile("globex", globex, "Globex <news@globex.example>", "globex-smtp");
  });

  afterEach(async () => {
    undo();
    await secretManager.close();
    await Promise.all(sinks.map((sink) => sink.close()));
  });

  const profile = (id: string, sink: SmtpSink, from: string, secret: string, extra: Record<string, unknown> = {}) =>
    db.doc(`senderProfiles/${id}`).set({
      params: { SMTP_CONNECTION_URI: `smtp://${id}@127.0.0.1:${sink.port}?pool=true`, DEFAULT_FROM: from },
      secrets: { SMTP_PASSWORD: SECRET(secret) },
      ...extra,
    });
  const send = (tenant: string, data: Record<string, unknown>) => trigger.create(`tenants/${tenant}/mail/m${++counter}`, data);
  const [acmeSink, globexSink] = [() => sinks[0], () => sinks[1]];

  it("sends each tenant's mail through its own server with its own sender", async () => {
    const info = jest.spyOn(functionsLogger, "info");
    const a = await send("acme", { to: "ann@example.com", message: { subject: "From Acme", text: "Hi" } });
    const g = await send("globex", { to: "bob@example.com", message: { subject: "From Globex", text: "Hi" } });
    expect([a.get("delivery.state"), g.get("delivery.state")]).toEqual(["SUCCESS", "SUCCESS"]);
    expect(acmeSink().messages.map((m) => [m.parsed.subject, m.parsed.from?.text])).toEqual([["From Acme", '"Acme" <hello@acme.example>']]);
    expect(globexSink().messages.map((m) => [m.parsed.subject, m.parsed.from?.text])).toEqual([["From Globex", '"Globex" <news@globex.example>']]);
    expect(acmeSink().authAttempts).toEqual([expect.objectContaining({ username: "acme" })]);
    // Each delivery's log line names the tenant's profile (docs/operations.md).
    expect(logged(info, "mail-delivered")).toEqual([
      expect.objectContaining({ mailPath: a.ref.path, state: "SUCCESS", provider: "smtp", profile: "acme" }),
      expect.objectContaining({ mailPath: g.ref.path, state: "SUCCESS", provider: "smtp", profile: "globex" }),
    ]);
    info.mockRestore();
  });

  it("a broken profile fails only its own mail, naming the profile and never the secret, while the other tenant delivers a burst", async () => {
    setSecret(SECRET("globex-smtp"), "a-wrong-password-123");
    const warn = jest.spyOn(functionsLogger, "warn");
    const burst = Array.from({ length: 20 }, (_, i) => send("acme", { to: `r${i}@example.com`, message: { subject: `A${i}`, text: "Hi" } }));
    const broken = send("globex", { to: "bob@example.com", message: { subject: "G", text: "Hi" } });
    const [delivered, failed] = await Promise.all([Promise.all(burst), broken]);
    expect(delivered.map((snap) => snap.get("delivery.state"))).toEqual(Array(20).fill("SUCCESS"));
    expect(acmeSink().messages).toHaveLength(20);
    expect(failed.get("delivery.state")).toBe("ERROR");
    expect(failed.get("delivery.error")).toMatch(/^Sender profile "globex": SMTP authentication failed/);
    expect(JSON.stringify(failed.data())).not.toContain("a-wrong-password-123");
    expect(globexSink().messages).toHaveLength(0);
    expect(logged(warn, "delivery-failed")).toEqual([{ event: "delivery-failed", mailPath: failed.ref.path, state: "ERROR", code: "auth-failed", provider: "smtp", profile: "globex" }]);
    warn.mockRestore();
  });

  it("a missing profile or a missing secret ends the mail in ERROR naming it, and sends nothing", async () => {
    const none = await send("initech", { to: "x@example.com", message: { subject: "S", text: "Hi" } });
    expect(none.get("delivery.state")).toBe("ERROR");
    expect(none.get("delivery.error")).toBe('Sender profile "initech": no such profile document');

    await profile("globex", globexSink(), "Globex <news@globex.example>", "deleted-secret");
    const unread = await send("globex", { to: "bob@example.com", message: { subject: "S", text: "Hi" } });
    expect(unread.get("delivery.state")).toBe("ERROR");
    expect(unread.get("delivery.error")).toContain('Sender profile "globex"');
    expect(unread.get("delivery.error")).toContain("deleted-secret");
    expect(sinks.flatMap((sink) => sink.messages)).toHaveLength(0);
  });

  it("refuses a profile that keeps its password in Firestore", async () => {
    await db.doc("senderProfiles/acme").set({ params: { SMTP_CONNECTION_URI: `smtp://acme:acme-pass-1@127.0.0.1:${acmeSink().port}`, DEFAULT_FROM: "a@acme.example" } });
    const snap = await send("acme", { to: "ann@example.com", message: { subject: "S", text: "Hi" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("must not contain a password");
    expect(snap.get("delivery.error")).not.toContain("acme-pass-1");
    expect(acmeSink().messages).toHaveLength(0);
  });

  it("picks up a rotated secret without a restart: the refused login is tried once more with the new value", async () => {
    await send("acme", { to: "ann@example.com", message: { subject: "before", text: "Hi" } });
    // The server now accepts only the new password, and Secret Manager holds it; the instance still caches the old one.
    acmeSink().setAuth({ user: "acme", password: "acme-pass-2" });
    setSecret(SECRET("acme-smtp"), "acme-pass-2");
    const snap = await send("acme", { to: "ann@example.com", message: { subject: "after", text: "Hi" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(acmeSink().messages.map((m) => m.parsed.subject)).toEqual(["before", "after"]);
  });

  it("a mail cannot reach another tenant's profile or templates through its fields", async () => {
    await db.doc("tenants/globex/templates/invoice").set({ subject: "Globex invoice", text: "secret terms" });
    const byField = await send("acme", { to: "ann@example.com", profile: "globex", senderProfile: "globex", message: { subject: "S", text: "Hi" } });
    expect(byField.get("delivery.state")).toBe("SUCCESS");
    expect(globexSink().messages).toHaveLength(0);
    expect(acmeSink().messages).toHaveLength(1);

    const byTemplate = await send("acme", { to: "ann@example.com", template: { name: "invoice" } });
    expect(byTemplate.get("delivery.state")).toBe("ERROR");
    // The mail's own fault, not its sender's: the error does not blame the profile.
    expect(byTemplate.get("delivery.error")).toBe("Tried to render non-existent template 'invoice'");
    expect(sinks.flatMap((sink) => sink.messages.map((m) => m.parsed.subject))).not.toContain("Globex invoice");

    await db.doc("tenants/acme/templates/invoice").set({ subject: "Acme invoice", text: "terms" });
    const own = await send("acme", { to: "ann@example.com", template: { name: "invoice" } });
    expect(own.get("delivery.state")).toBe("SUCCESS");
    expect(acmeSink().messages.map((m) => m.parsed.subject)).toContain("Acme invoice");
  });

  it("suppression is per tenant: an address one tenant suppressed still gets the other tenant's mail", async () => {
    await db.doc(`tenants/acme/suppression/${suppressionDocId("ann@example.com")}`).set({ address: "ann@example.com", reason: "unsubscribed" });
    const acme = await send("acme", { to: "ann@example.com", message: { subject: "A", text: "Hi" } });
    const globex = await send("globex", { to: "ann@example.com", message: { subject: "G", text: "Hi" } });
    expect(acme.get("delivery.state")).toBe("ERROR");
    expect(acme.get("delivery.error")).toMatch(/suppress/i);
    expect(globex.get("delivery.state")).toBe("SUCCESS");
    expect(globexSink().messages.map((m) => m.parsed.subject)).toEqual(["G"]);
    expect(acmeSink().messages).toHaveLength(0);
  });

  it("a profile may send through SendGrid's API with its own API key, beside a tenant on SMTP", async () => {
    const api = await startSendGridApi({ apiKey: "SG.globex-key" });
    const restore = redirectProviders({ sendGridApiUrl: api.url });
    try {
      setSecret(SECRET("globex-sendgrid"), "SG.globex-key");
      await db.doc("senderProfiles/globex").set({
        params: { SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", DEFAULT_FROM: "Globex <news@globex.example>" },
        secrets: { SMTP_PASSWORD: SECRET("globex-sendgrid") },
      });
      const g = await send("globex", { to: "bob@example.com", message: { subject: "Via SendGrid", text: "Hi" } });
      const a = await send("acme", { to: "ann@example.com", message: { subject: "Via SMTP", text: "Hi" } });
      expect([g.get("delivery.state"), a.get("delivery.state")]).toEqual(["SUCCESS", "SUCCESS"]);
      expect(api.accepted.map((request) => [request.authorization, (request.body.from as { email: string }).email])).toEqual([["Bearer SG.globex-key", "news@globex.example"]]);
      expect(acmeSink().messages.map((m) => m.parsed.subject)).toEqual(["Via SMTP"]);
    } finally {
      restore();
      await api.close();
    }
  });
});
