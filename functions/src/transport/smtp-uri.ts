/**
 * Turns `SMTP_CONNECTION_URI` (plus the optional `SMTP_PASSWORD` secret) into
 * nodemailer SMTP options.
 *
 * The URI is split by hand rather than handed to WHATWG `URL` or to nodemailer:
 * people paste passwords and user names unencoded (`me@gmail.com`, `p#ss@w%rd`),
 * and a generic URL parser reads the `#` as a fragment or the first `@` as the
 * end of the user info, and then connects to the wrong host with the wrong
 * password without a word.
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { ConfigError } from "../errors";

/** The one message for a URI that cannot be read; users of the original search for this text. */
export const INVALID_URI_MESSAGE = "Invalid URI: please reconfigure with a valid SMTP connection URI";

type OptionKind = "boolean" | "count" | "text";

/**
 * The query options passed on to nodemailer, and how each value is read.
 * Anything else is refused, so that a typo (`?pol=true`) is reported instead
 * of being silently ignored. Left out on purpose: `debug`, `logger` and
 * `transactionLog` (they would write SMTP traffic, message content included,
 * to the function's logs), `port` and `host` (they belong in the URI itself),
 * and options that take objects or functions.
 */
const URI_OPTIONS: Readonly<Record<string, OptionKind>> = {
  // Connection pooling (nodemailer's smtp-pool transport).
  pool: "boolean",
  maxConnections: "count",
  maxMessages: "count",
  rateDelta: "count",
  rateLimit: "count",
  // TLS negotiation: `secure` overrides what the scheme implies.
  secure: "boolean",
  requireTLS: "boolean",
  ignoreTLS: "boolean",
  opportunisticTLS: "boolean",
  // Timeouts, in milliseconds.
  connectionTimeout: "count",
  greetingTimeout: "count",
  socketTimeout: "count",
  dnsTimeout: "count",
  // Greeting name (EHLO) and preferred SASL method.
  name: "text",
  authMethod: "text",
  // Node.js TLS options that fit in a query string; TLS_OPTIONS takes the rest.
  "tls.rejectUnauthorized": "boolean",
  "tls.servername": "text",
  "tls.minVersion": "text",
  "tls.maxVersion": "text",
  "tls.ciphers": "text",
};

const SCHEME = /^(smtps?):\/\/(.*)$/is;
/**
 * What follows the user info: a host name or a bracketed IPv6 address, an
 * optional port, an optional empty path and an optional query. No `@`, `#` or
 * whitespace can appear in it, which is what makes the last `@` of the URI the
 * end of the user info.
 */
const HOST_PART =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([\p{L}\p{N}](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}])?))(?::([0-9]{1,5}))?\/?(?:\?([^\s@#]*))?$/u;
const NO_WHITESPACE = /^[^\s]*$/;

/** Characters an RFC 3986 user info may hold unescaped, and `%XX` escapes. */
const ENCODED_USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const HAS_ESCAPE = /^.*%[0-9A-Fa-f]{2}.*$/s;

/**
 * Percent-decodes a password only when it can only be an encoded one.
 *
 * Users of the original extension had to percent-encode special characters
 * (`p%23ss` for `p#ss`), while this extension promises that they need no
 * encoding. Both must keep working. An encoded password consists solely of
 * URL-safe characters and `%XX` escapes, with at least one escape; a literal
 * password such as `p#ss@w%rd` holds a character an encoded one cannot (`#`,
 * `@`, a `%` not followed by two hex digits), so it is kept as written. The
 * one ambiguity left, a literal password like `abc%41` made only of safe
 * characters, is read as encoded, as the original did.
 */
export function decodePassword(password: string): string {
  if (!ENCODED_USERINFO.test(password) || !HAS_ESCAPE.test(password)) return password;
  try {
    return decodeURIComponent(password);
  } catch {
    // The escapes are not valid UTF-8 (`%FF`): it was not encoded after all.
    return password;
  }
}

/**
 * The password written in the URI, if any, found even when the rest of the
 * URI is invalid, so that it can be scrubbed from logs either way.
 */
export function passwordInUri(uri: string): string | undefined {
  const scheme = SCHEME.exec(uri);
  const rest = scheme ? scheme[2] : uri;
  const at = rest.lastIndexOf("@");
  if (at < 0) return undefined;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(":");
  return colon < 0 ? undefined : userinfo.slice(colon + 1);
}

/**
 * Reads `smtp(s)://[user[:password]@]host[:port][?options]` into nodemailer
 * options. `smtps` means implicit TLS (`secure: true`, default port 465);
 * `smtp` means STARTTLS when offered (default port 587). `password`
 * (SMTP_PASSWORD, raw) replaces any password in the URI; both go through
 * decodePassword.
 *
 * Authentication is set only when the URI names a user: nodemailer cannot log
 * in with a password alone, and some relays (a local one, an IP-allowlisted
 * one) take mail without AUTH.
 *
 * Throws ConfigError with INVALID_URI_MESSAGE when the URI cannot be read, and
 * a message naming the option for a bad query option. The URI itself is never
 * put in a message, since it may hold a password.
 */
export function smtpOptionsFromUri(uri: string, password?: string): SMTPTransport.Options {
  const scheme = NO_WHITESPACE.test(uri) ? SCHEME.exec(uri) : null;
  if (!scheme) throw new ConfigError(INVALID_URI_MESSAGE);
  const secure = scheme[1].toLowerCase() === "smtps";
  const rest = scheme[2];

  const at = rest.lastIndexOf("@");
  const hostPart = HOST_PART.exec(rest.slice(at + 1));
  if (!hostPart) throw new ConfigError(INVALID_URI_MESSAGE);
  const [, ipv6, hostname, portText, query] = hostPart;

  const port = portText === undefined ? (secure ? 465 : 587) : Number(portText);
  if (port < 1 || port > 65535) throw new ConfigError(INVALID_URI_MESSAGE);

  const options: SMTPPool.Options = { host: ipv6 ?? hostname, port, secure };
  const auth = at < 0 ? undefined : credentials(rest.slice(0, at), password);
  if (auth) options.auth = auth;
  if (query) applyQuery(options, query);
  return options;
}

function credentials(userinfo: string, password: string | undefined): { user: string; pass?: string } | undefined {
  const colon = userinfo.indexOf(":");
  const user = decodePassword(colon < 0 ? userinfo : userinfo.slice(0, colon));
  if (!user) return undefined;
  const written = colon < 0 ? undefined : userinfo.slice(colon + 1);
  const pass = password ? decodePassword(password) : written === undefined ? undefined : decodePassword(written);
  return pass === undefined ? { user } : { user, pass };
}

/** Applies the query options, reporting every bad one in a single ConfigError. */
function applyQuery(options: SMTPPool.Options, query: string): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  const tls: Record<string, string | number | boolean> = {};
  const target = options as Record<string, unknown>;

  for (const pair of query.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const key = decodeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const raw = eq < 0 ? "" : decodeQuery(pair.slice(eq + 1));
    const kind = Object.hasOwn(URI_OPTIONS, key) ? URI_OPTIONS[key] : undefined;
    if (!kind) {
      problems.push(`SMTP_CONNECTION_URI has an unknown option "${key}"`);
      continue;
    }
    if (seen.has(key)) {
      problems.push(`SMTP_CONNECTION_URI gives the option "${key}" more than once`);
      continue;
    }
    seen.add(key);
    const value = optionValue(kind, raw);
    if (value === undefined) {
      problems.push(`SMTP_CONNECTION_URI option "${key}" must be ${EXPECTED[kind]}, got "${raw}"`);
    } else if (key.startsWith("tls.")) {
      tls[key.slice(4)] = value;
    } else {
      target[key] = value;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  if (Object.keys(tls).length > 0) options.tls = tls;
}

const EXPECTED: Readonly<Record<OptionKind, string>> = {
  boolean: "true or false",
  count: "a whole number greater than zero",
  text: "a non-empty value",
};

function optionValue(kind: OptionKind, raw: string): string | number | boolean | undefined {
  switch (kind) {
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : undefined;
    case "count": {
      const value = /^[0-9]+$/.test(raw) ? Number(raw) : 0;
      return Number.isSafeInteger(value) && value > 0 ? value : undefined;
    }
    case "text":
      return raw === "" ? undefined : raw;
  }
}

/** Query strings use `+` for spaces; a malformed escape is kept as written. */
function decodeQuery(text: string): string {
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
