/**
 * Postmark's webhooks against the Firestore emulator: each record type, the
 * bounce types, subscription changes, duplicates and unknown messages.
 */
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { POSTMARK, SUPPRESSED, webhookEnv } from "../../helpers/webhook-env";
import { basicAuth, tracked } from "../../helpers/webhook-signing";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

describeWithEmulator("Postmark webhooks", () => {
  const env = webhookEnv("demo-webhook-postmark");
  let n = 0;
  const at = new Date(Date.now() - 60_000).toISOString();

  async function sentMail(): Promise<string> {
    const path = `mail/pm${++n}`;
    await env.db.doc(path).set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
    return path;
  }

  const post = (record: Record<string, unknown>) => env.server.post("/postmark", JSON.stringify(record), basicAuth(POSTMARK.username, POSTMARK.password));
  const entry = async (path: string) => (await env.db.doc(path).get()).get("deliveryStatus.recipients")?.["ada@example.com"];

  function record(path: string | undefined, type: string, extra: Record<string, unknown> = {}) {
    const address = type === "Bounce" || type === "SpamComplaint" ? { Email: "ada@example.com" } : { Recipient: "ada@example.com" };
    return { RecordType: type, MessageID: `pm-msg-${++n}`, MessageStream: "outbound", ...address, Metadata: path ? tracked(path, "postmark") : {}, ...extra };
  }

  test("each record type records its status", async () => {
    env.configure({ trackOpensAndClicks: true });
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ["Delivery", { DeliveredAt: at, Details: "smtp;250 2.0.0 OK" }, { status: "delivered" }],
      ["Bounce", { ID: 1001, Type: "HardBounce", BouncedAt: at, Details: "smtp;550 5.1.1 unknown user" }, { status: "bounced", bounceType: "hard", code: "HardBounce", reason: "smtp;550 5.1.1 unknown user" }],
      ["Bounce", { ID: 1002, Type: "SoftBounce", BouncedAt: at }, { status: "bounced", bounceType: "soft" }],
      ["Bounce", { ID: 1003, Type: "Transient", BouncedAt: at, Description: "Delayed" }, { status: "deferred", reason: "Delayed" }],
      ["SpamComplaint", { ID: 1004, BouncedAt: at }, { status: "complained" }],
      ["Open", { ReceivedAt: at, FirstOpen: true }, { status: "opened" }],
      ["Click", { ReceivedAt: at, OriginalLink: "https://example.com" }, { status: "clicked" }],
      ["SubscriptionChange", { ChangedAt: at, SuppressSending: true, SuppressionReason: "ManualSuppression" }, { status: "unsubscribed" }],
    ];
    for (const [type, extra, expected] of cases) {
      const path = await sentMail();
      const response = await post(record(path, type, extra));
      expect(response.status).toBe(200);
      expect(await entry(path)).toMatchObject({ ...expected, source: "postmark" });
    }
  });

  test("a hard bounce suppresses and its redelivery counts once; auto-replies and reactivations are acknowledged only", async () => {
    const info = jest.spyOn(functionsLogger, "info");
    const path = await sentMail();
    const bounce = record(path, "Bounce", { ID: 2001, Type: "HardBounce", BouncedAt: at });
    expect(await (await post(bounce)).json()).toEqual({ recorded: 1, duplicates: 0, ignored: 0 });
    expect(await (await post(bounce)).json()).toEqual({ recorded: 0, duplicates: 1, ignored: 0 });
    expect((await env.db.doc(`${SUPPRESSED}/ada@example.com`).get()).get("reason")).toBe("bounced");
    // The hard-bounce alert's line (docs/operations.md): once, not again for the redelivery, without the address.
    const reported = info.mock.calls.filter(([, fields]) => (fields as { event?: string } | undefined)?.event === "recipient-reported");
    expect(reported).toEqual([["A recipient's mail bounced", { event: "recipient-reported", mailPath: path, provider: "postmark", recipientStatus: "bounced", bounceType: "hard" }]]);
    info.mockRestore();

    const other = await sentMail();
    expect(await (await post(record(other, "Bounce", { ID: 2002, Type: "AutoResponder", BouncedAt: at }))).json()).toMatchObject({ ignored: 1 });
    expect(await (await post(record(other, "SubscriptionChange", { ChangedAt: at, SuppressSending: false }))).json()).toMatchObject({ ignored: 1 });
    expect(await entry(other)).toBeUndefined();
  });

  test("a record without metadata (another sender on the server) is acknowledged and ignored", async () => {
    const response = await post(record(undefined, "Delivery", { DeliveredAt: at }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ recorded: 0, duplicates: 0, ignored: 1 });
  });

  test("a body without RecordType is answered 400", async () => {
    expect((await env.server.post("/postmark", JSON.stringify({ Email: "x@example.com" }), basicAuth(POSTMARK.username, POSTMARK.password))).status).toBe(400);
  });
});
