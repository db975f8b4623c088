/**
 * SMTP: every configuration no other provider claims. The SMTP options come
 * from config (SMTP_CONNECTION_URI, or the OAuth2 params), with Microsoft's
 * hosts' rules, pooling and, for OAuth2, a shared token provider applied
 * here. The OAuth2 module is required only when AUTH_TYPE is OAuth2.
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type { Config } from "../../config";
import { ValidationError } from "../../shared/errors";
import type { MailRequest } from "../../shared/types";
import type { MailProvider } from "../provider";
import { withHeaders } from "../../mail/prepare-payload";
import { applyMicrosoftDefaults } from "./microsoft";
import { relayTrackingHeaders } from "./relay-tracking";
import { createSmtpTransport } from "./smtp-transport";

export const smtpProvider: MailProvider = {
  name: "smtp",
  handles: () => true,
  checkFields,
  createTransport: (config) => createSmtpTransport(smtpOptionsFor(config)),
  track: (config, mailPath, message, mail) => ({ message: withHeaders(message, relayTrackingHeaders(config, mailPath)), mail }),
};

/**
 * SMTP sends the message and template; provider-only fields are not its
 * concern. A document that has nothing but a `sendGrid` block would go out
 * empty, so it is refused.
 */
function checkFields(mail: MailRequest): void {
  if (mail.sendGrid && !mail.message && !mail.template) {
    throw new ValidationError(
      `Invalid mail document. "sendGrid" is used only when SMTP_CONNECTION_URI's host is smtp.sendgrid.net; add a "message" or "template" to send it over SMTP.`,
    );
  }
}

/**
 * The SMTP options the transport is built with: the configured ones, the
 * Microsoft rules' defaults, pooling unless the URI says `pool=false`, and
 * for OAuth2 a token provider in place of the raw credentials.
 *
 * Connections are pooled by default: a warm instance then sends a burst of
 * mail over one logged-in connection instead of connecting and logging in
 * for each; an idle pooled connection is closed after the socket timeout
 * (20 s), and one the server dropped is replaced, with the message sent again
 * only if none of it had been sent (nodemailer's pool guarantees this; see
 * pooling.test.ts).
 */
export function smtpOptionsFor(config: Pick<Config, "authType" | "smtp">): SMTPPool.Options {
  const options: SMTPPool.Options = applyMicrosoftDefaults({ ...config.smtp });
  options.pool ??= true;
  if (config.authType === "OAuth2" && config.smtp.auth) {
    const { oauth2Auth } = require("./oauth2") as typeof import("./oauth2");
    options.auth = oauth2Auth(config.smtp.auth, options.host);
  }
  return options;
}
