/**
 * Which streams a report suppresses (docs/webhooks.md#mail-streams), through
 * the webhook endpoint against the Firestore emulator: a complaint or an
 * unsubscribe about a mail on a stream is recorded under `streams.<name>` of
 * the address's document; a hard bounce, a report about a mail without a
 * stream and a link from before streams suppress every stream; a narrower
 * report never narrows a document that suppresses every stream.
 */
import { signUnsubscribeToken } from "../../../src/unsubscribe/unsubscribe-token";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { POSTMARK, SUPPRESSED, UNSUBSCRIBE_KEY, webhookEnv } from "../../helpers/webhook-env";
import { basicAuth, sendGridHeaders, tracked } from "../../helpers/webhook-signing";

describeWithEmulator("suppression per mail stream, from webhooks", () => {
  const env = webhookEnv("demo-webhook-streams");
  let n = 0;

  async function sentMail(fields: Record<string, unknown> = {}): Promise<string> {
    const path = `mail/st${++n}`;
    await env.db.doc(path).set({ to: ["ada@example.com"], delivery: { state: "SUCCESS", attempts: 1 }, ...fields });
    return path;
  }

  async function sendGrid(path: string, type: string, extra: Record<string, unknown> = {}): Promise<void> {
    const body = JSON.stringify([{ email: "ada@example.com", timestamp: Math.floor(Date.now() / 1000), event: type, sg_event_id: `ev-${++n}`, ...tracked(path, "sendgrid"), ...extra }]);
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body))).status).toBe(200);
  }

  async function oneClick(claim: { mailPath: string; stream?: string }): Promise<void> {
    const token = signUnsubscribeToken(UNSUBSCRIBE_KEY, { address: "ada@example.com", ...claim });
    const response = await env.server.post(`/unsubscribe?t=${token}`, "List-Unsubscribe=One-Click", { "Content-Type": "application/x-www-form-urlencoded" });
    expect(response.status).toBe(200);
  }

  const suppression = async () => (await env.db.doc(`${SUPPRESSED}/ada@example.com`).get()).data();

  test("a complaint about a newsletter mail is recorded for the newsletter stream only", async () => {
    const path = await sentMail({ stream: "newsletter" });
    await sendGrid(path, "spamreport");
    const data = await suppression();
    expect(data).toEqual({ address: "ada@example.com", streams: { newsletter: expect.objectContaining({ reason: "complained", mail: path, source: "sendgrid" }) } });
  });

  test("reports about two streams keep both entries; an unsubscribe through Postmark is the mail's stream", async () => {
    await sendGrid(await sentMail({ stream: "newsletter" }), "group_unsubscribe", { asm_group_id: 7 });
    const offers = await sentMail({ stream: "2026-offers" });
    const at = new Date().toISOString();
    const record = { RecordType: "SubscriptionChange", MessageID: "pm-1", MessageStream: "broadcast", Recipient: "ada@example.com", ChangedAt: at, SuppressSending: true, SuppressionReason: "ManualSuppression", Metadata: tracked(offers, "postmark") };
    expect((await env.server.post("/postmark", JSON.stringify(record), basicAuth(POSTMARK.username, POSTMARK.password))).status).toBe(200);
    const data = await suppression();
    expect(Object.keys(data!.streams).sort()).toEqual(["2026-offers", "newsletter"]);
    expect(data!.streams["2026-offers"]).toMatchObject({ reason: "unsubscribed", mail: offers, source: "postmark" });
    expect(data).not.toHaveProperty("reason");
  });

  test("a hard bounce about a newsletter mail suppresses every stream, replacing per-stream entries", async () => {
    await sendGrid(await sentMail({ stream: "newsletter" }), "spamreport");
    const bounced = await sentMail({ stream: "newsletter" });
    await sendGrid(bounced, "bounce", { type: "bounce", reason: "550 No such user" });
    expect(await suppression()).toEqual(expect.objectContaining({ address: "ada@example.com", reason: "bounced", mail: bounced }));
    expect(await suppression()).not.toHaveProperty("streams");
  });

  test("a report about a mail without a stream, or with a stream that is not a valid name, suppresses every stream", async () => {
    await sendGrid(await sentMail(), "unsubscribe");
    expect(await suppression()).toMatchObject({ reason: "unsubscribed" });
    await env.db.doc(`${SUPPRESSED}/ada@example.com`).delete();
    // Edited after the send: not a stream this extension would have sent on, so the widest reading.
    await sendGrid(await sentMail({ stream: "News Letter" }), "spamreport");
    expect(await suppression()).toMatchObject({ reason: "complained" });
    // A dotted name would be a field path inside the entry: refused the same way, nothing written under it.
    await env.db.doc(`${SUPPRESSED}/ada@example.com`).delete();
    await sendGrid(await sentMail({ stream: "newsletter.reason" }), "unsubscribe");
    expect(await suppression()).toEqual(expect.objectContaining({ reason: "unsubscribed" }));
    expect(await suppression()).not.toHaveProperty("streams");
  });

  test("a stream's report on an address suppressed for every stream leaves it suppressed for every stream", async () => {
    // As written before streams existed.
    await env.db.doc(`${SUPPRESSED}/ada@example.com`).set({ address: "ada@example.com", reason: "unsubscribed", mail: "mail/old", source: "unsubscribe-link" });
    const path = await sentMail({ stream: "newsletter" });
    await sendGrid(path, "spamreport");
    const data = await suppression();
    expect(data).toMatchObject({ reason: "unsubscribed", mail: "mail/old", streams: { newsletter: { reason: "complained", mail: path } } });
  });

  test("the one-click link suppresses the stream its token names, whatever the mail document says now", async () => {
    const path = await sentMail({ stream: "offers" });
    await oneClick({ mailPath: path, stream: "newsletter" });
    const data = await suppression();
    expect(data).toEqual({ address: "ada@example.com", streams: { newsletter: expect.objectContaining({ reason: "unsubscribed", source: "unsubscribe-link", mail: path }) } });
  });

  test("a link from before streams (no stream in its token) suppresses every stream, even for a mail that names one", async () => {
    const path = await sentMail({ stream: "newsletter" });
    await oneClick({ mailPath: path });
    expect(await suppression()).toMatchObject({ reason: "unsubscribed", mail: path, source: "unsubscribe-link" });
    expect(await suppression()).not.toHaveProperty("streams");
  });
});
