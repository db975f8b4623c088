/**
 * Microsoft's mail hosts (Microsoft 365, Outlook.com, Hotmail): how to
 * recognise them and the settings they need. What the user configured is
 * kept; only settings left open are filled in, plus corrections for
 * configurations Microsoft cannot serve (implicit TLS, on 465 or 587).
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";

/** Users' existing Microsoft hosts are recognised by these words. */
const MICROSOFT_HOST = /outlook|office365|hotmail/i;

/** Microsoft speaks STARTTLS on 587, never implicit TLS, and takes no mail on 465. */
const STARTTLS_PORT = 587;
const IMPLICIT_TLS_PORT = 465;

/** Scopes a refresh token is redeemed for: sending over SMTP, and staying renewable. */
export const MICROSOFT_SMTP_SCOPE = "https://outlook.office.com/SMTP.Send offline_access";

/** Personal accounts' domains: their tokens come from the `consumers` authority. */
const CONSUMER_DOMAIN = /^(outlook|hotmail|live|msn|passport)\.[a-z.]+$/i;

export function isMicrosoftHost(host: string | undefined): boolean {
  return host !== undefined && MICROSOFT_HOST.test(host);
}

/**
 * The SMTP options for a Microsoft host (others come back unchanged).
 * Existing configurations that name port 465 (OAUTH_PORT's default) or
 * implicit TLS on 587 are relied on to work, so both become STARTTLS on 587.
 * STARTTLS is required unless the URI says `requireTLS` or `ignoreTLS`:
 * Microsoft always offers it, and insisting keeps the password off the wire
 * if an attacker strips the offer.
 */
export function applyMicrosoftDefaults<T extends SMTPPool.Options>(options: T): T {
  if (!isMicrosoftHost(options.host)) return options;
  const result: T = { ...options };
  if (result.port === IMPLICIT_TLS_PORT) result.port = STARTTLS_PORT;
  if (result.secure === true && result.port === STARTTLS_PORT) result.secure = false;
  if (result.secure !== true && result.requireTLS === undefined && result.ignoreTLS === undefined) {
    result.requireTLS = true;
  }
  return result;
}

/**
 * The token endpoint for `user`: the authority is the user's own domain for
 * work and school accounts (so single-tenant apps work too), `consumers`
 * for personal accounts.
 */
export function microsoftTokenUrl(user: string | undefined): string {
  const domain = user?.includes("@") ? user.slice(user.lastIndexOf("@") + 1).trim() : "";
  const authority = !/^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(domain)
    ? "common"
    : CONSUMER_DOMAIN.test(domain)
      ? "consumers"
      : domain.toLowerCase();
  return `https://login.microsoftonline.com/${authority}/oauth2/v2.0/token`;
}
