/**
 * Attacks on the webhook and unsubscribe endpoint: forged or altered
 * signatures, replayed (stale) requests, wrong credentials, tampered
 * unsubscribe tokens, oversized bodies and unconfigured providers. Every one
 * is refused before anything is written, and no answer or log line carries
 * a key or credential.
 */
import { createHmac, randomBytes } from "node:crypto";
import { signUnsubscribeToken } from "../../src/unsubscribe/unsubscribe-token";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { MAILGUN_KEY, POSTMARK, SUPPRESSED, UNSUBSCRIBE_KEY, webhookEnv } from "../helpers/webhook-env";
import { basicAuth, mailgunBody, sendGridHeaders, sendGridKeys } from "../helpers/webhook-signing";

// The module itself, not a namespace copy, so that its functions can be spied on.
const logger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

describeWithEmulator("webhook endpoint security", () => {
  const env = webhookEnv("demo-webhook-security");
  const path = "mail/target";
  const now = () => Math.floor(Date.now() / 1000);
  const bounce = (extra: Record<string, unknown> = {}) =>
    JSON.stringify([{ email: "victim@example.com", timestamp: now(), event: "bounce", type: "bounce", sg_event_id: `e${randomBytes(4).toString("hex")}`, fse_mail: path, ...extra }]);
  const logs: string[] = [];

  beforeEach(async () => {
    await env.db.doc(path).set({ to: "victim@example.com", delivery: { state: "SUCCESS" } });
    logs.length = 0;
    for (const level of ["warn", "info", "error"] as const) {
      jest.spyOn(logger, level).mockImplementation((...args: unknown[]) => void logs.push(JSON.stringify(args)));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  async function nothingWritten(): Promise<void> {
    expect((await env.db.doc(path).get()).get("deliveryStatus")).toBeUndefined();
    expect((await env.db.collection(SUPPRESSED).get()).size).toBe(0);
  }

  test("SendGrid: a body signed by another key, an altered body, a bad or missing signature are refused", async () => {
    const body = bounce();
    const stranger = sendGridKeys();
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(stranger, body))).status).toBe(403);
    const altered = body.replace("victim@", "other@");
    expect((await env.server.post("/sendgrid", altered, sendGridHeaders(env.keys, body))).status).toBe(403);
    const garbage = { ...sendGridHeaders(env.keys, body), "X-Twilio-Email-Event-Webhook-Signature": "bm90IGEgc2lnbmF0dXJl" };
    expect((await env.server.post("/sendgrid", body, garbage)).status).toBe(403);
    expect((await env.server.post("/sendgrid", body)).status).toBe(401);
    await nothingWritten();
  });

  test("SendGrid and Mailgun: a genuine request replayed outside the 5-minute window is refused", async () => {
    const body = bounce();
    const stale = now() - 301;
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body, stale))).status).toBe(403);
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body, now() + 600))).status).toBe(403);
    const data = { event: "failed", severity: "permanent", reason: "bounce", id: "mg1", timestamp: now(), recipient: "victim@example.com", "user-variables": { fse_mail: path } };
    expect((await env.server.post("/mailgun", mailgunBody(MAILGUN_KEY, data, stale))).status).toBe(403);
    await nothingWritten();
    // The same requests, fresh, are accepted: the refusals above were for the timestamp alone.
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body))).status).toBe(200);
  });

  test("Mailgun: a signature made with another key, or a signature reused with another token, is refused", async () => {
    const data = { event: "complained", id: "mg2", timestamp: now(), recipient: "victim@example.com", "user-variables": { fse_mail: path } };
    expect((await env.server.post("/mailgun", mailgunBody("not-the-key", data))).status).toBe(403);
    const genuine = JSON.parse(mailgunBody(MAILGUN_KEY, data));
    genuine.signature.token = randomBytes(25).toString("hex");
    expect((await env.server.post("/mailgun", JSON.stringify(genuine))).status).toBe(403);
    const unsigned = JSON.parse(mailgunBody(MAILGUN_KEY, data));
    delete unsigned.signature;
    expect((await env.server.post("/mailgun", JSON.stringify(unsigned))).status).toBe(401);
    await nothingWritten();
  });

  test("Postmark: wrong or missing basic-auth credentials get 401 with a challenge", async () => {
    const record = JSON.stringify({ RecordType: "SpamComplaint", ID: 1, Email: "victim@example.com", BouncedAt: new Date().toISOString(), Metadata: { fse_mail: path } });
    const wrong = await env.server.post("/postmark", record, basicAuth(POSTMARK.username, `${POSTMARK.password}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect((await env.server.post("/postmark", record)).status).toBe(401);
    expect((await env.server.post("/postmark", record, basicAuth("someone", POSTMARK.password))).status).toBe(401);
    await nothingWritten();
  });

  test("an oversized body is refused with 413 and nothing is written", async () => {
    env.configure({ maxBodyBytes: 64 * 1024 });
    const body = bounce({ padding: "x".repeat(70 * 1024) });
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body))).status).toBe(413);
    await nothingWritten();
  });

  test("a provider without its key answers 404, and so does an unknown path", async () => {
    const body = bounce();
    for (const unknown of ["/sendgrid/extra", "/SendGrid", "/", "/webhooks/sendgrid"]) {
      expect((await env.server.post(unknown, body, sendGridHeaders(env.keys, body))).status).toBe(404);
    }
    env.configure({ sendGridPublicKey: undefined, mailgunSigningKey: undefined, postmarkCredentials: undefined });
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body))).status).toBe(404);
    expect((await env.server.post("/mailgun", mailgunBody(MAILGUN_KEY, {}))).status).toBe(404);
    expect((await env.server.post("/postmark", "{}", basicAuth(POSTMARK.username, POSTMARK.password))).status).toBe(404);
    await nothingWritten();
  });

  test("a tampered unsubscribe token changes nothing and says so, for GET and POST", async () => {
    const genuine = signUnsubscribeToken(UNSUBSCRIBE_KEY, { address: "victim@example.com", mailPath: path });
    const [version, payload, mac] = genuine.split(".");
    const otherAddress = Buffer.from(JSON.stringify(["someone-else@example.com", path])).toString("base64url");
    const forged = [
      `${version}.${otherAddress}.${mac}`,
      signUnsubscribeToken("a-guessed-key", { address: "victim@example.com", mailPath: path }),
      `${version}.${payload}.${mac.slice(0, -2)}AA`,
      `${version}.${payload}`,
      "",
    ];
    for (const token of forged) {
      const post = await env.server.post(`/unsubscribe?t=${token}`, "List-Unsubscribe=One-Click", { "Content-Type": "application/x-www-form-urlencoded" });
      expect(post.status).toBe(400);
      expect(await post.text()).toContain("This unsubscribe link is not valid");
      expect((await env.server.get(`/unsubscribe?t=${token}`)).status).toBe(400);
    }
    // A MAC made with the key for another purpose is not a token either.
    const raw = createHmac("sha256", UNSUBSCRIBE_KEY).update(payload).digest("base64url");
    expect((await env.server.post(`/unsubscribe?t=${version}.${payload}.${raw}`, "List-Unsubscribe=One-Click")).status).toBe(400);
    await nothingWritten();
  });

  test("no answer and no log line carries a key or credential", async () => {
    const body = bounce();
    const answers = [
      await env.server.post("/sendgrid", body, sendGridHeaders(sendGridKeys(), body)),
      await env.server.post("/mailgun", mailgunBody("wrong", { id: "x" })),
      await env.server.post("/postmark", "{}", basicAuth(POSTMARK.username, "wrong-password")),
      await env.server.post("/unsubscribe?t=v1.x.y", ""),
    ];
    const texts = [...(await Promise.all(answers.map((answer) => answer.text()))), ...logs].join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [MAILGUN_KEY, POSTMARK.password, UNSUBSCRIBE_KEY, env.keys.publicKey, "wrong-password"]) {
      expect(texts).not.toContain(secret);
    }
  });
});
