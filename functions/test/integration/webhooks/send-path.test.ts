/**
 * What the send path does with delivery status (docs/webhooks.md), through
 * processQueue with a real SMTP server: a bounce recorded by the webhook
 * suppresses the address on the next send; one-click unsubscribe links go
 * out in the mail, and following one suppresses the recipient; SendGrid's
 * API request carries the tracking argument. With none of the params set,
 * nothing is read and nothing is added.
 */
import * as suppressionList from "../../../src/suppression/suppression-list";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { configureExtension, redirectProviders } from "../../helpers/extension-env";
import { DEFAULT_FROM } from "../../helpers/mail-harness";
import { startSendGridApi } from "../../helpers/sendgrid-api-server";
import { sendPathEnv, SUPPRESSED } from "../../helpers/webhook-env";
import { sendGridHeaders, tracked, TRACKING_SECRET } from "../../helpers/webhook-signing";

describeWithEmulator("the send path with delivery status", () => {
  const env = sendPathEnv("demo-webhook-send-path");
  const { h, keys, statusParams } = env;
  const recipientsOf = (index: number) => h.sink.messages[index].envelope.rcptTo;
  /** A header of the index-th received message as sent (mailparser turns List-* headers into a structure). */
  const header = (index: number, name: string) => {
    const line = h.sink.messages[index].parsed.headerLines.find((entry) => entry.key === name)?.line;
    return line?.slice(line.indexOf(":") + 1).replace(/\r?\n\s+/g, " ").trim();
  };

  async function bounce(path: string, email: string): Promise<void> {
    const body = JSON.stringify([{ email, timestamp: Math.floor(Date.now() / 1000), event: "bounce", type: "bounce", sg_event_id: `b-${path}`, ...tracked(path, "sendgrid") }]);
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(keys, body))).status).toBe(200);
  }

  test("a hard bounce suppresses the address on the next send; deleting its document lifts it", async () => {
    await h.useSink({}, { SUPPRESSION_COLLECTION: SUPPRESSED });
    const first = h.nextPath();
    await h.trigger.create(first, { to: ["ada@example.com", "bob@example.com"], message: { subject: "1", text: "Hi" } });
    await bounce(first, "ada@example.com");

    const second = await h.trigger.create(h.nextPath(), { to: ["Ada <ADA@example.com>", "bob@example.com"], message: { subject: "2", text: "Hi" } });
    expect(second.get("delivery.state")).toBe("SUCCESS");
    expect(second.get("delivery.info.suppressed")).toEqual(["ADA@example.com"]);
    expect(second.get("delivery.info.accepted")).toEqual(["bob@example.com"]);
    expect(recipientsOf(1)).toEqual(["bob@example.com"]);

    const third = await h.trigger.create(h.nextPath(), { to: "ada@example.com", message: { subject: "3", text: "Hi" } });
    expect(third.get("delivery.state")).toBe("ERROR");
    expect(third.get("delivery.error")).toContain("Every recipient is suppressed");
    expect(third.get("delivery.error")).toContain(`delete its document from '${SUPPRESSED}'`);
    expect(h.sink.messages).toHaveLength(2);

    await h.db.doc(`${SUPPRESSED}/ada@example.com`).delete();
    const fourth = await h.trigger.create(h.nextPath(), { to: "ada@example.com", message: { subject: "4", text: "Hi" } });
    expect(fourth.get("delivery.state")).toBe("SUCCESS");
    expect(fourth.get("delivery.info.suppressed")).toBeUndefined();
    expect(recipientsOf(2)).toEqual(["ada@example.com"]);
  });

  test("one-click unsubscribe: the link in the mail suppresses its recipient when posted", async () => {
    await h.useSink({}, statusParams());
    const path = h.nextPath();
    await h.trigger.create(path, { to: "ada@example.com", unsubscribe: true, message: { subject: "News", text: "Hi" } });
    expect(header(0, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    const link = /^<([^>]+)>$/.exec(header(0, "list-unsubscribe")!)![1];
    expect(link.startsWith(`${env.server.url}/unsubscribe?t=v2.`)).toBe(true);

    // What a mailbox provider does on "Unsubscribe" (RFC 8058).
    const response = await fetch(link, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(response.status).toBe(200);
    expect((await h.db.doc(`${SUPPRESSED}/ada@example.com`).get()).data()).toMatchObject({ reason: "unsubscribed", mail: path });
    expect((await h.db.doc(path).get()).get("deliveryStatus.recipients")["ada@example.com"].status).toBe("unsubscribed");

    const next = await h.trigger.create(h.nextPath(), { to: "ada@example.com", unsubscribe: true, message: { subject: "More news", text: "Hi" } });
    expect(next.get("delivery.state")).toBe("ERROR");
    expect(h.sink.messages).toHaveLength(1);
  });

  test("unsubscribe: true that cannot be honoured ends in ERROR naming the field, before any send", async () => {
    await h.useSink({}, statusParams());
    const two = await h.trigger.create(h.nextPath(), { to: "a@example.com, b@example.com", unsubscribe: true, message: { subject: "x", text: "x" } });
    expect(two.get("delivery")).toMatchObject({ state: "ERROR", leaseExpireTime: null });
    expect(two.get("delivery.error")).toContain('Invalid field "unsubscribe". An unsubscribe link names one recipient: expected exactly 1 address');
    const wrongType = await h.trigger.create(h.nextPath(), { to: "a@example.com", unsubscribe: "yes", message: { subject: "x", text: "x" } });
    expect(wrongType.get("delivery.error")).toBe('Invalid field "unsubscribe". Expected true or false.');

    // The same server, without the unsubscribe params.
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${h.sink.port}`, DEFAULT_FROM });
    const unconfigured = await h.trigger.create(h.nextPath(), { to: "a@example.com", unsubscribe: true, message: { subject: "x", text: "x" } });
    expect(unconfigured.get("delivery.error")).toContain("need the UNSUBSCRIBE_SIGNING_KEY and SUPPRESSION_COLLECTION params");
    expect(h.sink.messages).toHaveLength(0);
  });

  test("UNSUBSCRIBE_DEFAULT: every single-recipient mail gets the link unless it opts out; others go without", async () => {
    await h.useSink({}, { ...statusParams(), UNSUBSCRIBE_DEFAULT: "true" });
    await h.trigger.create(h.nextPath(), { to: "ada@example.com", message: { subject: "1", text: "x" } });
    await h.trigger.create(h.nextPath(), { to: ["ada@example.com", "bob@example.com"], message: { subject: "2", text: "x" } });
    await h.trigger.create(h.nextPath(), { to: "ada@example.com", unsubscribe: false, message: { subject: "3", text: "x" } });
    const withLink = h.sink.messages.map((_, index) => header(index, "list-unsubscribe") !== undefined);
    expect(withLink).toEqual([true, false, false]);
  });

  test("with no delivery status param: no read before sending and no header added", async () => {
    await h.useSink();
    const reads = jest.spyOn(suppressionList, "suppressedRecipients");
    const snap = await h.trigger.create(h.nextPath(), { to: "ada@example.com", unsubscribe: false, message: { subject: "x", text: "x" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    const names = h.sink.messages[0].parsed.headerLines.map((line) => line.key);
    expect(names.filter((name) => /^(list-unsubscribe|x-mailgun-variables|x-pm-metadata-)/.test(name))).toEqual([]);
  });

  test("SendGrid's API request carries the tracking argument beside the document's own, only with the webhook key", async () => {
    const api = await startSendGridApi({ apiKey: "SG.key-for-tests" });
    const restore = redirectProviders({ sendGridApiUrl: api.url });
    try {
      const base = { SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: "SG.key-for-tests", DEFAULT_FROM };
      configureExtension({ ...base, SENDGRID_WEBHOOK_PUBLIC_KEY: keys.publicKey, TRACKING_SIGNING_KEY: TRACKING_SECRET });
      const path = h.nextPath();
      await h.trigger.create(path, { to: "ada@example.com", message: { subject: "x", text: "x" }, sendGrid: { customArgs: { campaign: "autumn" } } });
      expect(api.accepted[0].body.custom_args).toEqual({ campaign: "autumn", ...tracked(path, "sendgrid") });

      configureExtension(base);
      await h.trigger.create(h.nextPath(), { to: "ada@example.com", message: { subject: "x", text: "x" } });
      expect(api.accepted[1].body.custom_args).toBeUndefined();
    } finally {
      restore();
      await api.close();
    }
  });
});
