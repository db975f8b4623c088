/**
 * The `webhooks` function as the Extensions emulator serves it, reached over
 * HTTP through the Functions emulator: a signed SendGrid event batch is
 * recorded on the mail document beside `delivery`, the hard bounce
 * suppresses the address, and the next mail to it is not sent.
 */
import { createPrivateKey, sign } from "node:crypto";
import type { Firestore } from "firebase-admin/firestore";
import { tracked } from "../helpers/webhook-signing";
import { e2eFirestore, required, waitForDocument, waitForFinalState } from "./e2e-env";

describe("delivery events through the installed extension's webhooks function", () => {
  let db: Firestore;
  const endpoint = () => required("E2E_WEBHOOK_URL");

  beforeAll(() => {
    db = e2eFirestore();
  });

  afterAll(async () => {
    await db.terminate();
  });

  /** Posts `events` to /sendgrid signed as SendGrid signs its Event Webhook. */
  async function postSendGrid(events: unknown[]): Promise<Response> {
    const body = JSON.stringify(events);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = sign("sha256", Buffer.from(timestamp + body), { key: createPrivateKey(required("E2E_SENDGRID_PRIVATE_KEY")), dsaEncoding: "der" });
    return fetch(`${endpoint()}/sendgrid`, {
      method: "POST",
      body,
      headers: {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": signature.toString("base64"),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
      },
    });
  }

  test("a bounce is recorded, suppresses the address, and the next mail to it is not sent", async () => {
    const address = "bounces-e2e@example.com";
    const first = await db.collection("mail").add({ to: address, message: { subject: "Before the bounce", text: "Hi" } });
    const sent = await waitForFinalState(first);
    expect(sent.get("delivery.state")).toBe("SUCCESS");

    const now = Math.floor(Date.now() / 1000);
    const response = await postSendGrid([
      { email: address, timestamp: now - 2, event: "delivered", sg_event_id: `e2e-d-${first.id}`, ...tracked(first.path, "sendgrid", required("E2E_TRACKING_SIGNING_KEY")) },
      { email: address, timestamp: now - 1, event: "bounce", type: "bounce", reason: "550 5.1.1 No such user", sg_event_id: `e2e-b-${first.id}`, ...tracked(first.path, "sendgrid", required("E2E_TRACKING_SIGNING_KEY")) },
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ recorded: 2, duplicates: 0, ignored: 0 });

    const recorded = await waitForDocument(first, (snap) => snap.get("deliveryStatus.recipients")?.[address]?.status === "bounced");
    expect(recorded.get("deliveryStatus.recipients")[address]).toMatchObject({ bounceType: "hard", reason: "550 5.1.1 No such user" });
    // The webhook's write fired processQueue again: it changed nothing.
    expect(recorded.get("delivery")).toEqual(sent.get("delivery"));
    const suppression = await db.collection(required("E2E_SUPPRESSION_COLLECTION")).doc(address).get();
    expect(suppression.data()).toMatchObject({ address, reason: "bounced", mail: first.path, source: "sendgrid" });

    const second = await db.collection("mail").add({ to: address, message: { subject: "After the bounce", text: "Hi" } });
    const refused = await waitForFinalState(second);
    expect(refused.get("delivery.state")).toBe("ERROR");
    expect(refused.get("delivery.error")).toContain("Every recipient is suppressed");
  });

  test("a request with a bad signature is refused and records nothing; an unconfigured provider answers 404", async () => {
    const body = JSON.stringify([{ email: "x@example.com", timestamp: Math.floor(Date.now() / 1000), event: "bounce", sg_event_id: "forged", fse_mail: "mail/x" }]);
    const forged = await fetch(`${endpoint()}/sendgrid`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": "AAAA", "X-Twilio-Email-Event-Webhook-Timestamp": String(Math.floor(Date.now() / 1000)) },
    });
    expect(forged.status).toBe(403);
    expect((await fetch(`${endpoint()}/mailgun`, { method: "POST", body: "{}" })).status).toBe(404);
  });
});
