/**
 * Provider options of a mail document (docs/mail-documents.md): `dsn` as the
 * SMTP server receives it (RFC 3461 NOTIFY, RET, ENVID), and SendGrid's
 * unsubscribe group and tracking settings as its API receives them; each
 * ignored by the other provider, as documents valid before them stay valid.
 */
import type { SendMailOptions } from "nodemailer";
import type { MailTransport } from "../../src/providers/provider";
import { createSmtpTransport } from "../../src/providers/smtp/smtp-transport";
import type { MailDsn } from "../../src/shared/types";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { startSendGridApi, type SendGridApi } from "../helpers/sendgrid-api-server";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";

const PROJECT = "demo-provider-options";
const FROM = "Shop <shop@example.com>";
const API_KEY = "SG.test-key.provider-options";
const SENDGRID = { SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: API_KEY, DEFAULT_FROM: FROM };

describe("dsn through the SMTP transport, pooled or not", () => {
  const sinks: SmtpSink[] = [];
  const transports: MailTransport[] = [];
  afterEach(async () => {
    for (const transport of transports.splice(0)) transport.close();
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  });

  async function send(dsn: MailDsn | undefined, pool: boolean, announce = true) {
    const sink = await startSmtpSink({ dsn: announce });
    sinks.push(sink);
    const transport = createSmtpTransport({ host: sink.host, port: sink.port, pool });
    transports.push(transport);
    const message: SendMailOptions = { from: "shop@example.com", to: ["ann@example.com", "bob@example.com"], subject: "S", text: "T" };
    await transport.send(message, { dsn });
    return (await sink.waitForMessages(1))[0];
  }

  it.each([true, false])("reaches the server as RET, ENVID and a NOTIFY per recipient (pool %s)", async (pool) => {
    const received = await send({ notify: ["failure", "delay"], ret: "headers", envid: "order 42+=~" }, pool);
    expect(received.envelope.dsn).toEqual({ ret: "HDRS", envid: "order 42+=~", notify: [["FAILURE", "DELAY"], ["FAILURE", "DELAY"]] });
  });

  it("sends NOTIFY=NEVER and RET=FULL", async () => {
    const received = await send({ notify: "never", ret: "full" }, true);
    expect(received.envelope.dsn).toEqual({ ret: "FULL", envid: null, notify: [["NEVER"], ["NEVER"]] });
  });

  it("sends no DSN parameter for a mail without dsn", async () => {
    const received = await send(undefined, true);
    expect(received.envelope.dsn).toEqual({ ret: null, envid: null, notify: [null, null] });
  });

  it("a server that does not announce DSN still gets the mail, without the parameters (RFC 3461)", async () => {
    const received = await send({ notify: ["success"], envid: "x" }, true, false);
    expect(received.envelope.rcptTo).toEqual(["ann@example.com", "bob@example.com"]);
    expect(received.envelope).not.toHaveProperty("dsn");
  });
});

describeWithEmulator("provider options through processQueue", () => {
  const h = mailHarness(PROJECT);
  afterAll(() => configureExtension({}));

  describe("over SMTP", () => {
    it("a dsn reaches the server for every recipient, to, cc and bcc", async () => {
      const sink = await h.useSink({ dsn: true });
      const snap = await h.trigger.create(h.nextPath(), {
        to: "ann@example.com",
        cc: "bob@example.com",
        bcc: "carol@example.com",
        message: { subject: "Order", text: "Shipped" },
        dsn: { notify: ["success", "failure"], ret: "headers", envid: "order-42" },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      const [received] = sink.messages;
      expect(received.envelope.rcptTo).toEqual(["ann@example.com", "bob@example.com", "carol@example.com"]);
      expect(received.envelope.dsn).toEqual({ ret: "HDRS", envid: "order-42", notify: Array(3).fill(["SUCCESS", "FAILURE"]) });
    });

    it.each<[string, unknown, string]>([
      ["never with failure", { notify: ["never", "failure"] }, '"dsn.notify"'],
      ["an envid with a line break", { envid: "id\r\nRCPT TO:<victim@example.com>" }, '"dsn.envid"'],
      ["an unknown key", { orcpt: "rfc822;ann@example.com" }, '"dsn.orcpt"'],
      ["a number", 3, '"dsn"'],
    ])("a dsn with %s ends in ERROR naming the field; nothing is sent", async (_label, dsn, field) => {
      const sink = await h.useSink({ dsn: true });
      const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "S", text: "T" }, dsn });
      expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
      expect(snap.get("delivery.error")).toContain(`Invalid field ${field}`);
      expect(sink.messages).toHaveLength(0);
      expect(sink.connectionsOpened()).toBe(0);
    });

    it("SendGrid's asm and trackingSettings are ignored, as the whole sendGrid block is over SMTP", async () => {
      const sink = await h.useSink();
      const snap = await h.trigger.create(h.nextPath(), {
        to: "ann@example.com",
        message: { subject: "S", text: "T" },
        // Not SendGrid's shapes either: over SMTP the block was never read, and documents valid before stay valid.
        sendGrid: { asm: { groupId: "newsletter" }, trackingSettings: { clickTracking: "off" } },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0].raw.toString("utf8")).not.toMatch(/asm|newsletter|tracking/i);
    });
  });

  describe("through SendGrid", () => {
    let api: SendGridApi;
    let restore: () => void;
    beforeEach(async () => {
      api = await startSendGridApi({ apiKey: API_KEY });
      restore = redirectProviders({ sendGridApiUrl: api.url });
      configureExtension(SENDGRID);
    });
    afterEach(async () => {
      await api.close();
      restore();
    });

    it("the unsubscribe group and tracking settings reach the API in its own names", async () => {
      const snap = await h.trigger.create(h.nextPath(), {
        to: "ann@example.com",
        message: { subject: "Autumn news", html: "<p>News</p>" },
        sendGrid: {
          asm: { groupId: 4242, groupsToDisplay: [4242, 4243] },
          trackingSettings: {
            clickTracking: { enable: false, enableText: false },
            openTracking: { enable: false },
            subscriptionTracking: { enable: false },
            ganalytics: { enable: true, utmSource: "mail", utmCampaign: "autumn" },
          },
        },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(api.accepted).toHaveLength(1);
      const { body } = api.accepted[0];
      expect(body.asm).toEqual({ group_id: 4242, groups_to_display: [4242, 4243] });
      expect(body.tracking_settings).toEqual({
        click_tracking: { enable: false, enable_text: false },
        open_tracking: { enable: false },
        subscription_tracking: { enable: false },
        ganalytics: { enable: true, utm_source: "mail", utm_campaign: "autumn" },
      });
    });

    it.each<[string, Record<string, unknown>, string]>([
      ["a group id that is a string", { asm: { groupId: "4242" } }, '"sendGrid.asm.groupId". Expected a positive integer'],
      ["asm without a group", { asm: { groupsToDisplay: [1] } }, '"sendGrid.asm.groupId". Expected a positive integer'],
      ["26 groups to display", { asm: { groupId: 1, groupsToDisplay: Array.from({ length: 26 }, (_, i) => i + 1) } }, '"sendGrid.asm.groupsToDisplay". Expected an array of 1 to 25'],
      ["enable as a string", { trackingSettings: { openTracking: { enable: "false" } } }, '"sendGrid.trackingSettings.openTracking.enable". Expected true or false'],
      ["an unknown tracking setting", { trackingSettings: { bypassListManagement: { enable: true } } }, '"sendGrid.trackingSettings.bypassListManagement". Expected one of the supported fields'],
    ])("%s ends in ERROR naming the field; nothing reaches SendGrid", async (_label, sendGrid, text) => {
      const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "S", text: "T" }, sendGrid });
      expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
      expect(snap.get("delivery.error")).toContain(`Invalid field ${text}`);
      expect(api.requestCount()).toBe(0);
    });

    it("a dsn is ignored: SendGrid sends no delivery status notifications, and the mail still goes out", async () => {
      const snap = await h.trigger.create(h.nextPath(), {
        to: "ann@example.com",
        message: { subject: "S", text: "T" },
        dsn: { notify: ["failure"], envid: "order-42" },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(api.accepted).toHaveLength(1);
      expect(JSON.stringify(api.accepted[0].body)).not.toMatch(/dsn|order-42|notify/i);
    });

    it("a malformed dsn ends in ERROR here too: a document means the same whatever the provider", async () => {
      const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "S", text: "T" }, dsn: { ret: "everything" } });
      expect(snap.get("delivery.error")).toBe('Invalid field "dsn.ret". Expected one of "full", "headers".');
      expect(api.requestCount()).toBe(0);
    });
  });
});
