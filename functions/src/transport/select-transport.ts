/**
 * The one place that decides how mail leaves: SendGrid's HTTP API when the
 * SMTP URI's host is smtp.sendgrid.net (as the original does), SMTP
 * otherwise, with the Microsoft profile, OAuth2 and connection pooling
 * applied. The SendGrid and OAuth2 modules are required only when chosen, so
 * that a cold start loads nothing it will not use.
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type { Config } from "../config";
import { ValidationError } from "../errors";
import type { MailRequest } from "../types";
import type { MailTransport } from "./mail-transport";
import { applyMicrosoftDefaults } from "./microsoft";
import { createSmtpTransport } from "./smtp-transport";

export const SENDGRID_HOST = "smtp.sendgrid.net";

export interface SelectedTransport {
  transport: MailTransport;
  /** Whether SMTP connections are kept open and reused between sends. */
  pooled: boolean;
}

/** Only an exact host match, like the original: a relay merely named after SendGrid stays SMTP. */
export function usesSendGrid(config: Pick<Config, "authType" | "smtp">): boolean {
  return config.authType === "UsernamePassword" && config.smtp.host?.toLowerCase() === SENDGRID_HOST;
}

export function selectTransport(config: Config): SelectedTransport {
  if (usesSendGrid(config)) {
    const { createSendGridTransport } = require("./sendgrid-transport") as typeof import("./sendgrid-transport");
    const auth = config.smtp.auth as { pass?: string } | undefined;
    return {
      transport: createSendGridTransport({ apiKey: auth?.pass || config.smtpPassword, tls: config.tlsOptions }),
      pooled: false,
    };
  }
  const options = smtpOptionsFor(config);
  return { transport: createSmtpTransport(options), pooled: options.pool === true };
}

/**
 * Checks, before a mail is claimed, that its provider-only fields can be
 * used: a valid `sendGrid` block and `categories` for SendGrid; over SMTP a
 * document that has nothing but a `sendGrid` block would go out empty, so it
 * is refused (the original sent an empty email).
 */
export function checkProviderFields(config: Config, mail: MailRequest): void {
  if (usesSendGrid(config)) {
    const { checkSendGridFields } = require("./sendgrid-payload") as typeof import("./sendgrid-payload");
    checkSendGridFields(mail);
  } else if (mail.sendGrid && !mail.message && !mail.template) {
    throw new ValidationError(
      `Invalid mail document. "sendGrid" is used only when SMTP_CONNECTION_URI's host is ${SENDGRID_HOST}; add a "message" or "template" to send it over SMTP.`,
    );
  }
}

/**
 * The SMTP options the transport is built with: the configured ones, the
 * Microsoft profile's defaults, pooling unless the URI says `pool=false`, and
 * for OAuth2 a token provider in place of the raw credentials.
 *
 * Deviation from the original: connections are pooled by default (see the
 * README's measurements). A warm instance then sends a burst of mail over one
 * logged-in connection instead of connecting and logging in for each; an idle
 * pooled connection is closed after the socket timeout (20 s), and one the
 * server dropped is replaced, with the message sent again only if none of it
 * had been sent (nodemailer's pool guarantees this; see pooling.test.ts).
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
