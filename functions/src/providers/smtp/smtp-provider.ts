/** SMTP: every configuration no other provider claims, from SMTP_CONNECTION_URI or the OAuth2 params, with Microsoft's rules and pooling applied here. */
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type { Config } from "../../config";
import { ValidationError } from "../../shared/errors";
import type { MailRequest } from "../../shared/types";
import type { MailProvider } from "../provider";
import { withHeaders } from "../../mail/prepare-payload";
import { MAILGUN_SMTP_HOSTS, mailgunSmtpHeaders, mailgunWebhook } from "../mailgun/webhook";
import { POSTMARK_SMTP_HOSTS, postmarkSmtpHeaders, postmarkWebhook } from "../postmark/webhook";
import { applyMicrosoftDefaults } from "./microsoft";
import { createSmtpTransport } from "./smtp-transport";

/** Relays that send delivery reports: their tracking headers, by the relay's host, when their webhook is configured. */
const TRACKED_RELAYS = [
  { hosts: MAILGUN_SMTP_HOSTS, webhook: mailgunWebhook, headers: mailgunSmtpHeaders },
  { hosts: POSTMARK_SMTP_HOSTS, webhook: postmarkWebhook, headers: postmarkSmtpHeaders },
];

export const smtpProvider: MailProvider = {
  name: "smtp",
  handles: () => true,
  checkFields,
  createTransport: (config, endpoints) => createSmtpTransport(smtpOptionsFor(config, endpoints.oauth2TokenUrl)),
  track: (config, mailPath, message, mail) => {
    const host = config.smtp.host?.toLowerCase();
    const relay = host ? TRACKED_RELAYS.find(({ hosts, webhook }) => webhook.configured(config.webhooks) && hosts.includes(host)) : undefined;
    return { message: withHeaders(message, relay ? relay.headers(config.webhooks, mailPath) : {}), mail };
  },
};

/** A document with nothing but a `sendGrid` block would go out empty over SMTP. */
function checkFields(mail: MailRequest): void {
  if (mail.sendGrid && !mail.message && !mail.template) {
    throw new ValidationError(
      `Invalid mail document. "sendGrid" is used only when SMTP_CONNECTION_URI's host is smtp.sendgrid.net; add a "message" or "template" to send it over SMTP.`,
    );
  }
}

/**
 * The configured SMTP options with Microsoft's defaults, and for OAuth2 a
 * token provider in place of the raw credentials. Pooled unless the URI
 * says `pool=false`: a warm instance sends a burst over one logged-in
 * connection, and nodemailer's pool resends a message over a replaced
 * connection only if none of it had been sent (pooling.test.ts).
 */
export function smtpOptionsFor(config: Pick<Config, "authType" | "smtp">, oauth2TokenUrl?: string): SMTPPool.Options {
  const options: SMTPPool.Options = applyMicrosoftDefaults({ ...config.smtp });
  options.pool ??= true;
  if (config.authType === "OAuth2" && config.smtp.auth) {
    const { oauth2Auth } = require("./oauth2") as typeof import("./oauth2");
    options.auth = oauth2Auth(config.smtp.auth, options.host, oauth2TokenUrl);
  }
  return options;
}
