/**
 * A provider's event can arrive before the extension has recorded SUCCESS
 * (SendGrid reports "delivered" within a second; the outcome write follows
 * the SMTP reply). The webhook write must not turn the mail into ERROR, lose
 * the SUCCESS, or send it again, and the trigger that the webhook write
 * itself fires must change nothing.
 */
import type { DocumentSnapshot } from "firebase-admin/firestore";
import * as logs from "../../../src/shared/logs";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { mailHarness } from "../../helpers/mail-harness";
import { fullConfig, testEndpoint } from "../../helpers/webhook-env";
import { startWebhookServer, type WebhookServer } from "../../helpers/webhook-server";
import { sendGridHeaders, sendGridKeys, tracked } from "../../helpers/webhook-signing";

describeWithEmulator("webhook events racing the send path", () => {
  const harness = mailHarness("demo-webhook-race");
  const keys = sendGridKeys();
  let server: WebhookServer;

  beforeAll(async () => {
    server = await startWebhookServer(testEndpoint(() => ({ ...fullConfig(keys), eventHistory: true }), () => harness.db));
  });
  afterAll(async () => {
    await server.close();
  });

  test("a delivered event written while the mail is PROCESSING: SUCCESS is recorded, the mail is sent once", async () => {
    const path = harness.nextPath();
    const seen: { processing?: DocumentSnapshot; status?: number; triggerRan?: boolean } = {};
    await harness.useSink({
      beforeReply: async () => {
        // The message is on the server, the 250 not yet sent: the extension still holds the lease.
        seen.processing = await harness.db.doc(path).get();
        const body = JSON.stringify([
          { email: "ada@example.com", timestamp: Math.floor(Date.now() / 1000), event: "delivered", sg_event_id: "race-1", ...tracked(path, "sendgrid") },
        ]);
        seen.status = (await server.post("/sendgrid", body, sendGridHeaders(keys, body))).status;
        // The trigger fired by the webhook's own write, delivered while the attempt is in flight.
        await harness.trigger.fire(path, seen.processing);
        seen.triggerRan = true;
      },
    });
    const recorded = jest.spyOn(logs, "webhookRecorded");

    const final = await harness.trigger.create(path, { to: "ada@example.com", message: { subject: "Race", text: "Hi" } });

    expect(seen.processing?.get("delivery.state")).toBe("PROCESSING");
    expect(seen.status).toBe(200);
    expect(seen.triggerRan).toBe(true);
    expect(recorded).toHaveBeenCalledWith("sendgrid", expect.objectContaining({ recorded: 1 }));
    expect(final.get("delivery.state")).toBe("SUCCESS");
    expect(final.get("delivery.attempts")).toBe(1);
    expect(final.get("delivery.error")).toBeNull();
    expect(final.get("delivery.info.accepted")).toEqual(["ada@example.com"]);
    expect(final.get("deliveryStatus.recipients")["ada@example.com"]).toMatchObject({ status: "delivered", eventId: "race-1" });
    expect(harness.sink.messages).toHaveLength(1);

    // A later redelivery of the same event, after SUCCESS, changes nothing either.
    const body = JSON.stringify([{ email: "ada@example.com", timestamp: Math.floor(Date.now() / 1000), event: "delivered", sg_event_id: "race-1", ...tracked(path, "sendgrid") }]);
    expect(await (await server.post("/sendgrid", body, sendGridHeaders(keys, body))).json()).toEqual({ recorded: 0, duplicates: 1, ignored: 0 });
    expect((await harness.db.doc(path).get()).updateTime!.isEqual(final.updateTime!)).toBe(true);
    recorded.mockRestore();
  });

  test("a bounce recorded after SUCCESS fires a trigger that sends nothing and keeps SUCCESS", async () => {
    await harness.useSink();
    const path = harness.nextPath();
    const sent = await harness.trigger.create(path, { to: "gone@example.com", message: { subject: "Hi", text: "Hi" } });
    expect(sent.get("delivery.state")).toBe("SUCCESS");

    const body = JSON.stringify([
      { email: "gone@example.com", timestamp: Math.floor(Date.now() / 1000), event: "bounce", type: "bounce", sg_event_id: "late-1", ...tracked(path, "sendgrid") },
    ]);
    expect((await server.post("/sendgrid", body, sendGridHeaders(keys, body))).status).toBe(200);
    const after = await harness.trigger.settle(path, sent);

    expect(after.get("delivery")).toEqual(sent.get("delivery"));
    expect(after.get("deliveryStatus.recipients")["gone@example.com"]).toMatchObject({ status: "bounced", bounceType: "hard" });
    expect(harness.sink.messages).toHaveLength(1);
  });
});
