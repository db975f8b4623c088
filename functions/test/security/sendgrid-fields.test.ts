/**
 * SendGrid fields a mail author could use against the operator: mail
 * settings that skip SendGrid's own suppression lists (an address that
 * bounced, complained or unsubscribed would be mailed anyway), and custom
 * arguments named like the event fields SendGrid puts beside them (which
 * would make its events say something else, or name another mail document).
 */
import { parseConfig } from "../../src/config";
import { ValidationError } from "../../src/shared/errors";
import { createTransport, selectProvider } from "../../src/providers/select-provider";
import type { MailTransport } from "../../src/providers/provider";
import type { MailRequest } from "../../src/shared/types";
import { startSendGridApi, type SendGridApi } from "../helpers/sendgrid-api-server";
import { redirectProviders, testEndpoints } from "../helpers/extension-env";

const API_KEY = "SG.test-key.security";
const PARAMS = { SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: API_KEY, DEFAULT_FROM: "shop@example.com" };
const message = { from: "shop@example.com", to: "ann@example.com", subject: "s", text: "t" };

let api: SendGridApi;
let restore: () => void;
const transports: MailTransport[] = [];
beforeEach(async () => {
  api = await startSendGridApi({ apiKey: API_KEY });
  restore = redirectProviders({ sendGridApiUrl: api.url });
});
afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  await api.close();
  restore();
});

function transport(params: Record<string, string> = {}): MailTransport {
  const made = createTransport(parseConfig({ ...PARAMS, ...params }), testEndpoints());
  transports.push(made);
  return made;
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe("mail settings that skip SendGrid's suppression lists", () => {
  it.each([
    ["bypassListManagement", { bypassListManagement: { enable: true } }],
    ["bypass_list_management", { bypass_list_management: { enable: true } }],
    ["bypassUnsubscribeManagement", { bypassUnsubscribeManagement: { enable: true } }],
    ["bypassBounceManagement", { bypassBounceManagement: { enable: true } }],
    ["bypassSpamManagement", { bypassSpamManagement: { enable: true } }],
  ])("%s is refused unless the operator allows it; nothing reaches SendGrid", async (name, mailSettings) => {
    const error = await refusal(transport().send(message, { sendGrid: { mailSettings } }));
    expect(error.message).toContain(name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    expect(error.message).toContain("ALLOW_SENDGRID_BYPASS");
    expect(api.requestCount()).toBe(0);

    await transport({ ALLOW_SENDGRID_BYPASS: "true" }).send(message, { sendGrid: { mailSettings } });
    expect(api.accepted).toHaveLength(1);
  });

  it.each([
    ["bypassListManagement", { bypassListManagement: { enable: true } }],
    ["bypass_spam_management", { bypass_spam_management: { enable: true } }],
    ["mailSettings", { mailSettings: { bypassListManagement: { enable: true } } }],
  ])("cannot be smuggled in as tracking settings (%s), whatever ALLOW_SENDGRID_BYPASS says; nothing reaches SendGrid", async (name, trackingSettings) => {
    for (const allow of ["false", "true"]) {
      const error = await refusal(transport({ ALLOW_SENDGRID_BYPASS: allow }).send(message, { sendGrid: { trackingSettings } }));
      expect(error.message).toContain(`"sendGrid.trackingSettings.${name}". Expected one of the supported fields`);
    }
    expect(api.requestCount()).toBe(0);
  });

  it("an unsubscribe group or tracking settings beside a bypass setting leave it refused", async () => {
    const sendGrid = { asm: { groupId: 1 }, trackingSettings: { subscriptionTracking: { enable: false } }, mailSettings: { bypassUnsubscribeManagement: { enable: true } } };
    const error = await refusal(transport().send(message, { sendGrid }));
    expect(error.message).toContain("ALLOW_SENDGRID_BYPASS");
    expect(api.requestCount()).toBe(0);
  });

  it("a bypass setting that is off is still accepted", async () => {
    await transport().send(message, { sendGrid: { mailSettings: { bypassListManagement: { enable: false } } } });
    expect(api.accepted).toHaveLength(1);
  });
});

describe("custom arguments named like event fields", () => {
  const provider = selectProvider(parseConfig(PARAMS));
  it.each(["email", "event", "sg_message_id", "sg_event_id", "timestamp", "category", "reason", "type", "fse_mail", "fse_sig", "FSE_MAIL"])(
    "customArgs.%s is refused before the mail is claimed",
    (key) => {
      const mail = { to: [], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [], sendGrid: { customArgs: { [key]: "x" } } } as unknown as MailRequest;
      expect(() => provider.checkFields(mail)).toThrow(ValidationError);
      expect(() => provider.checkFields(mail)).toThrow(`sendGrid.customArgs.${key}`);
    },
  );

  it("other custom arguments still go out", async () => {
    await transport().send(message, { sendGrid: { customArgs: { orderId: "42" } } });
    expect(api.accepted[0].body.custom_args).toEqual({ orderId: "42" });
  });
});
