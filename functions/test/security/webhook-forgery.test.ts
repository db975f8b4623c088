/**
 * Signed events that say more than their signature vouches for: a Mailgun
 * signature (which covers only its timestamp and token) reused with another
 * body, events for addresses a mail never had or for mail that does not
 * exist, tracking values the extension did not make, ids Firestore refuses,
 * and unsigned bodies too large to be worth parsing. Each writes nothing,
 * and never keeps the request's other events from being recorded.
 */
import { randomBytes } from "node:crypto";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { MAILGUN_KEY, POSTMARK, SUPPRESSED, TOKENS, webhookEnv } from "../helpers/webhook-env";
import { basicAuth, mailgunBody, mailgunBodyWithToken, sendGridHeaders, tracked } from "../helpers/webhook-signing";

type Provider = "sendgrid" | "mailgun" | "postmark";

describeWithEmulator("forged and misdirected delivery events", () => {
  const env = webhookEnv("demo-webhook-forgery");
  const mail = "mail/ada";
  const now = () => Math.floor(Date.now() / 1000);
  let n = 0;

  beforeEach(async () => {
    await env.db.doc(mail).set({ to: "Ada <ada@example.com>", delivery: { state: "SUCCESS" } });
  });

  /** A signed hard bounce (or complaint, for Postmark) for `email`, naming `metadata` as its tracking value. */
  async function postBounce(provider: Provider, email: string, metadata: Record<string, string>): Promise<Response> {
    const id = `ev-${++n}-${randomBytes(3).toString("hex")}`;
    if (provider === "sendgrid") {
      const body = JSON.stringify([{ email, timestamp: now(), event: "bounce", type: "bounce", sg_event_id: id, ...metadata }]);
      return env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body));
    }
    if (provider === "mailgun") {
      const data = { event: "failed", severity: "permanent", reason: "bounce", id, timestamp: now(), recipient: email, "user-variables": metadata };
      return env.server.post("/mailgun", mailgunBody(MAILGUN_KEY, data));
    }
    const record = { RecordType: "Bounce", Type: "HardBounce", ID: n, Email: email, BouncedAt: new Date().toISOString(), Metadata: metadata };
    return env.server.post("/postmark", JSON.stringify(record), basicAuth(POSTMARK.username, POSTMARK.password));
  }

  async function statusOf(path: string): Promise<unknown> {
    return (await env.db.doc(path).get()).get("deliveryStatus");
  }
  const suppressions = async () => (await env.db.collection(SUPPRESSED).get()).docs.map((doc) => doc.id);

  test("Mailgun: a token is accepted once; its signature reused with another body writes nothing", async () => {
    const token = randomBytes(25).toString("hex");
    const timestamp = now();
    const delivered = { event: "delivered", id: "mg-first", timestamp, recipient: "ada@example.com", "user-variables": tracked(mail, "mailgun") };
    const first = await env.server.post("/mailgun", mailgunBodyWithToken(MAILGUN_KEY, delivered, token, timestamp));
    expect(first.status).toBe(200);
    const before = await env.db.doc(mail).get();

    const forged = { event: "failed", severity: "permanent", reason: "bounce", id: "mg-forged", timestamp, recipient: "ada@example.com", "user-variables": tracked(mail, "mailgun") };
    const second = await env.server.post("/mailgun", mailgunBodyWithToken(MAILGUN_KEY, forged, token, timestamp));
    expect(second.status).toBe(403);
    expect((await env.db.doc(mail).get()).updateTime!.isEqual(before.updateTime!)).toBe(true);
    expect(await suppressions()).toEqual([]);

    // The token is remembered past the replay window, and a TTL policy can expire it.
    const used = await env.db.collection(TOKENS).get();
    expect(used.size).toBe(1);
    expect(used.docs[0].id).not.toContain(token);
    expect(used.docs[0].get("expireAt").toMillis()).toBeGreaterThan(Date.now() + 300_000);
  });

  test.each<Provider>(["sendgrid", "mailgun", "postmark"])("%s: a bounce for an address the mail never had writes nothing", async (provider) => {
    const response = await postBounce(provider, "stranger@example.org", tracked(mail, provider));
    expect(response.status).toBe(200);
    expect(await statusOf(mail)).toBeUndefined();
    expect(await suppressions()).toEqual([]);
    // The mail's own recipient, in another spelling, is still recorded.
    expect((await postBounce(provider, "ADA@Example.com", tracked(mail, provider))).status).toBe(200);
    expect(Object.keys((await statusOf(mail)) as object)).toEqual(["recipients"]);
    expect(await suppressions()).toEqual(["ada@example.com"]);
  });

  test.each<Provider>(["sendgrid", "mailgun", "postmark"])("%s: a bounce naming a mail document that does not exist suppresses nobody", async (provider) => {
    expect((await postBounce(provider, "victim@example.com", tracked("mail/deleted-or-never-was", provider))).status).toBe(200);
    expect(await suppressions()).toEqual([]);
    expect((await env.db.doc("mail/deleted-or-never-was").get()).exists).toBe(false);
  });

  test.each<Provider>(["sendgrid", "mailgun", "postmark"])("%s: a tracking value the extension did not make writes nothing", async (provider) => {
    const genuine = tracked(mail, provider);
    const forgeries: Array<Record<string, string>> = [
      { fse_mail: mail },
      { fse_mail: mail, fse_sig: "" },
      { fse_mail: mail, fse_sig: tracked("mail/other", provider).fse_sig },
      { fse_mail: mail, fse_sig: tracked(mail, provider, "a-guessed-tracking-key-0123456789abc").fse_sig },
      { fse_mail: mail, fse_sig: tracked(mail, provider === "sendgrid" ? "mailgun" : "sendgrid").fse_sig },
      { fse_mail: mail, fse_sig: `${genuine.fse_sig.slice(0, -1)}${genuine.fse_sig.endsWith("A") ? "B" : "A"}` },
    ];
    for (const metadata of forgeries) {
      expect((await postBounce(provider, "ada@example.com", metadata)).status).toBe(200);
    }
    expect(await statusOf(mail)).toBeUndefined();
    expect(await suppressions()).toEqual([]);
  });

  test.each([
    ["as written (fse_mail)", (m: { fse_mail: string; fse_sig: string }) => m],
    ["as nodemailer writes the header (Fse_mail)", (m: { fse_mail: string; fse_sig: string }) => ({ Fse_mail: m.fse_mail, Fse_sig: m.fse_sig })],
  ])("Postmark: metadata keys %s are recognised", async (_label, spell) => {
    const record = { RecordType: "Delivery", MessageID: "pm-1", Recipient: "ada@example.com", DeliveredAt: new Date().toISOString(), Metadata: spell(tracked(mail, "postmark")) };
    const response = await env.server.post("/postmark", JSON.stringify(record), basicAuth(POSTMARK.username, POSTMARK.password));
    expect(await response.json()).toEqual({ recorded: 1, duplicates: 0, ignored: 0 });
    expect((await env.db.doc(mail).get()).get("deliveryStatus.recipients")["ada@example.com"].status).toBe("delivered");
  });

  test("ids Firestore refuses do not fail the request: the other events are recorded", async () => {
    const odd = "__odd@example.com__";
    await env.db.doc("mail/odd").set({ to: odd, delivery: { state: "SUCCESS" } });
    const events = [
      { email: "ada@example.com", timestamp: now(), event: "bounce", type: "bounce", sg_event_id: "ok-1", ...tracked(mail, "sendgrid") },
      { email: odd, timestamp: now(), event: "bounce", type: "bounce", sg_event_id: "odd-1", ...tracked("mail/odd", "sendgrid") },
      { email: "ada@example.com", timestamp: now(), event: "delivered", sg_event_id: "bad-path", ...tracked("mail/__reserved__", "sendgrid") },
    ];
    const body = JSON.stringify(events);
    const response = await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body));
    expect(response.status).toBe(200);
    expect((await env.db.doc(mail).get()).get("deliveryStatus.recipients")["ada@example.com"].status).toBe("bounced");
    const oddStatus = (await env.db.doc("mail/odd").get()).get("deliveryStatus.recipients") as Record<string, { status: string }>;
    expect(Object.values(oddStatus).map((entry) => entry.status)).toEqual(["bounced"]);
    expect((await suppressions()).sort()).toEqual(["%5F_odd@example.com__", "ada@example.com"]);
  });

  test("Mailgun: an unsigned body larger than any Mailgun event is refused before it is parsed", async () => {
    const parse = jest.spyOn(JSON, "parse");
    const huge = JSON.stringify({ "event-data": { padding: "x".repeat(2 * 1024 * 1024) } });
    const response = await env.server.post("/mailgun", huge);
    const parsedHuge = parse.mock.calls.some(([text]) => typeof text === "string" && text.length > 1024 * 1024);
    parse.mockRestore();
    expect(response.status).toBe(413);
    expect(parsedHuge).toBe(false);
  });
});
