/**
 * Mailgun's webhooks against the Firestore emulator: each event type, the
 * permanent/temporary split of failures, and duplicates.
 */
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { MAILGUN_KEY, SUPPRESSED, webhookEnv } from "../../helpers/webhook-env";
import { mailgunBody, tracked } from "../../helpers/webhook-signing";

describeWithEmulator("Mailgun webhooks", () => {
  const env = webhookEnv("demo-webhook-mailgun");
  let n = 0;
  const base = Date.now() / 1000 - 30;

  async function sentMail(): Promise<string> {
    const path = `mail/mg${++n}`;
    await env.db.doc(path).set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
    return path;
  }

  function eventData(path: string, type: string, extra: Record<string, unknown> = {}) {
    return {
      event: type,
      id: `mg-${++n}`,
      timestamp: base,
      recipient: "ada@example.com",
      "user-variables": tracked(path, "mailgun"),
      ...extra,
    };
  }

  const post = (data: Record<string, unknown>) => env.server.post("/mailgun", mailgunBody(MAILGUN_KEY, data));
  const entry = async (path: string) => (await env.db.doc(path).get()).get("deliveryStatus.recipients")["ada@example.com"];

  test("each event type records its status", async () => {
    env.configure({ trackOpensAndClicks: true });
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ["delivered", {}, { status: "delivered" }],
      [
        "failed",
        { severity: "temporary", reason: "generic", "delivery-status": { code: 452, message: "4.2.2 Mailbox full" } },
        { status: "deferred", reason: "4.2.2 Mailbox full", code: "452" },
      ],
      [
        "failed",
        { severity: "permanent", reason: "bounce", "delivery-status": { code: 550, description: "5.1.1 The email account does not exist" } },
        { status: "bounced", bounceType: "hard", reason: "5.1.1 The email account does not exist", code: "550" },
      ],
      ["failed", { severity: "permanent", reason: "generic", "delivery-status": { code: 554 } }, { status: "bounced", bounceType: "soft" }],
      ["complained", {}, { status: "complained" }],
      ["unsubscribed", {}, { status: "unsubscribed" }],
      ["opened", {}, { status: "opened" }],
      ["clicked", { url: "https://example.com" }, { status: "clicked" }],
    ];
    for (const [type, extra, expected] of cases) {
      const path = await sentMail();
      const data = eventData(path, type, extra);
      const response = await post(data);
      expect(response.status).toBe(200);
      expect(await entry(path)).toMatchObject({ ...expected, source: "mailgun", eventId: data.id });
    }
  });

  test("accepted and other non-delivery events are acknowledged without a write", async () => {
    const path = await sentMail();
    const before = await env.db.doc(path).get();
    const response = await post(eventData(path, "accepted"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ recorded: 0, duplicates: 0, ignored: 1 });
    expect((await env.db.doc(path).get()).updateTime!.isEqual(before.updateTime!)).toBe(true);
  });

  test("a permanent bounce suppresses; the same event re-sent with a fresh signature counts once", async () => {
    const path = await sentMail();
    const data = eventData(path, "failed", { severity: "permanent", reason: "bounce" });
    expect(await (await post(data)).json()).toEqual({ recorded: 1, duplicates: 0, ignored: 0 });
    expect(await (await post(data)).json()).toEqual({ recorded: 0, duplicates: 1, ignored: 0 });
    expect((await env.db.doc(`${SUPPRESSED}/ada@example.com`).get()).data()).toMatchObject({ reason: "bounced", mail: path, source: "mailgun" });
  });

  test("a body without event-data is answered 400", async () => {
    const body = JSON.parse(mailgunBody(MAILGUN_KEY, {}));
    delete body["event-data"];
    expect((await env.server.post("/mailgun", JSON.stringify(body))).status).toBe(400);
  });
});
