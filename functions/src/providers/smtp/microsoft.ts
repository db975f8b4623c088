/**
 * Microsoft's mail hosts (Microsoft 365 / Exchange Online, Outlook.com,
 * Hotmail): how to recognise them and the settings they need.
 *
 * Everything the user configured (host, port, query options such as
 * `?pool=true`, TLS_OPTIONS) is kept; only settings the user left open are
 * filled in, plus corrections for configurations Microsoft cannot serve
 * (implicit TLS, on 465 or 587).
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";

/** A host name containing one of these words is Microsoft's; users' existing hosts are recognised this way. */
const MICROSOFT_HOST = /outlook|office365|hotmail/i;

/** Microsoft's submission port, where it speaks STARTTLS and never implicit TLS. */
const STARTTLS_PORT = 587;
/** The implicit TLS port, on which Microsoft's SMTP hosts take no mail. */
const IMPLICIT_TLS_PORT = 465;

/** Scopes a refresh token is redeemed for: sending over SMTP, and staying renewable. */
export const MICROSOFT_SMTP_SCOPE = "https://outlook.office.com/SMTP.Send offline_access";

/**
 * Domains of personal Microsoft accounts. Their tokens come from the
 * `consumers` authority; work and school accounts from their organisation's.
 */
const CONSUMER_DOMAIN = /^(outlook|hotmail|live|msn|passport)\.[a-z.]+$/i;

export function isMicrosoftHost(host: string | undefined): boolean {
  return host !== undefined && MICROSOFT_HOST.test(host);
}

/**
 * The SMTP options for a Microsoft host. Without a Microsoft host, `options`
 * come back unchanged.
 *
 * - Port 465 (`smtps://…:465`, or OAUTH_PORT left at 465) becomes STARTTLS on
 *   587: Microsoft does not listen on 465, and existing configurations that
 *   name it are relied on to work.
 * - Implicit TLS on port 587 (`smtps://…:587`, or OAUTH_SECURE left at `true`
 *   with OAUTH_PORT 587) becomes STARTTLS: Microsoft answers with a plain
 *   greeting there, so the handshake could only fail, and existing
 *   configurations that say so are relied on to work.
 * - Without TLS from the start, STARTTLS is required unless the user said
 *   otherwise (`requireTLS` or `ignoreTLS` in the URI): Microsoft always
 *   offers it, so insisting costs nothing and keeps the password off the wire
 *   if an attacker strips the offer.
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
 * The token endpoint that renews a refresh token for `user` (an address).
 * The authority is the user's own domain for work and school accounts, which
 * works for apps registered in a single tenant as well as for multi-tenant
 * ones, and `consumers` for personal accounts (outlook.com, hotmail.com, …).
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
