/**
 * A suppressed address must stay suppressed however a later mail spells it:
 * providers report internationalised domains in their ASCII (punycode) form,
 * people write them in Unicode, and `x.com.` is `x.com` to DNS. The record
 * (written from a signed provider event) and the send path's check go
 * through one normalisation, so each spelling finds the other's document.
 */
import { suppressedRecipients } from "../../src/suppression/suppression-list";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { SUPPRESSED, webhookEnv } from "../helpers/webhook-env";
import { sendGridHeaders, tracked } from "../helpers/webhook-signing";

describeWithEmulator("suppression by spelling", () => {
  const env = webhookEnv("demo-suppression-spelling");
  let n = 0;

  /** A mail to `address` and a signed hard bounce for it, spelled as the provider spells it. */
  async function bounced(address: string, reportedAs: string): Promise<void> {
    const path = `mail/s${++n}`;
    await env.db.doc(path).set({ to: address, delivery: { state: "SUCCESS" } });
    const body = JSON.stringify([{ email: reportedAs, timestamp: Math.floor(Date.now() / 1000), event: "bounce", type: "bounce", sg_event_id: `b${n}`, ...tracked(path, "sendgrid") }]);
    const response = await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body));
    expect(await response.json()).toMatchObject({ recorded: 1 });
  }

  test.each([
    ["suppressed in Unicode, mailed in punycode", "victim@bücher.de", "victim@xn--bcher-kva.de"],
    ["suppressed in punycode, mailed in Unicode", "victim@xn--bcher-kva.de", "Victim@BÜCHER.de"],
    ["suppressed with a trailing dot, mailed without", "victim@example.com.", "victim@example.com"],
    ["suppressed without a trailing dot, mailed with one", "victim@example.com", "Victim <victim@example.com.>"],
  ])("%s: the later mail is blocked", async (_label, recorded, mailed) => {
    await bounced(recorded, recorded);
    expect(await suppressedRecipients(env.db, SUPPRESSED, [mailed, "someone@else.example"])).toEqual([mailed]);
  });

  test("the mail's recipient in one spelling and the provider's report in the other is recorded and suppressed", async () => {
    await bounced("victim@bücher.de", "victim@xn--bcher-kva.de");
    expect((await env.db.collection(SUPPRESSED).get()).docs.map((doc) => doc.id)).toEqual(["victim@xn--bcher-kva.de"]);
    expect(await suppressedRecipients(env.db, SUPPRESSED, ["victim@bücher.de"])).toEqual(["victim@bücher.de"]);
  });
});
