/**
 * SendGrid: mail sent through its v3 mail-send API with SMTP_PASSWORD as the
 * API key, when the SMTP URI's host is exactly smtp.sendgrid.net. Its HTTP
 * transport is loaded only then.
 */
import type { Config } from "../../config";
import type { MailProvider } from "../provider";
import { isPlainMap } from "../../shared/plain-map";
import { readSendGridFields } from "./sendgrid-fields";
import { sendGridCustomArgs } from "./webhook";

export const SENDGRID_HOST = "smtp.sendgrid.net";

/** Only an exact host match: a relay merely named after SendGrid stays SMTP. */
export function usesSendGrid(config: Pick<Config, "authType" | "smtp">): boolean {
  return config.authType === "UsernamePassword" && config.smtp.host?.toLowerCase() === SENDGRID_HOST;
}

export const sendGridProvider: MailProvider = {
  name: "sendgrid",
  handles: usesSendGrid,
  checkFields: (mail) => {
    readSendGridFields(mail, { document: true });
  },
  track: (config, mailPath, message, mail) => {
    if (!config.webhooks.sendGridPublicKey) return { message, mail };
    const sendGrid = { ...mail.sendGrid };
    sendGrid.customArgs = { ...(isPlainMap(sendGrid.customArgs) ? sendGrid.customArgs : {}), ...sendGridCustomArgs(config.webhooks, mailPath) };
    return { message, mail: { ...mail, sendGrid } };
  },
  createTransport: (config, endpoints) => {
    const { createSendGridTransport } = require("./sendgrid-transport") as typeof import("./sendgrid-transport");
    const auth = config.smtp.auth as { pass?: string } | undefined;
    return createSendGridTransport({ apiKey: auth?.pass || config.smtpPassword, tls: config.tlsOptions, allowBypass: config.allowSendGridBypass, apiUrl: endpoints.sendGridApiUrl });
  },
};
