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
import { received } from "./env-values";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import wellKnown from "nodemailer/lib/well-known";
import { ConfigError } from "../shared/errors";

/** The one message for a URI that cannot be read; users search for this exact text. */
const INVALID_URI_MESSAGE = "Invalid URI: please reconfigure with a valid SMTP connection URI";

type OptionKind = "boolean" | "count" | "whole" | "text";

/**
 * The query options passed on to nodemailer, and how each value is read:
 * every scalar option of nodemailer's SMTP and pool transports, and the
 * Node.js TLS options that fit in a query string (TLS_OPTIONS takes the
 * rest). Any other option is ignored and reported by name rather than
 * refused, so that a URI carrying options nodemailer never knew keeps
 * working. Left out on purpose, and so ignored too: `debug`, `logger`
 * and `transactionLog` (they would write SMTP traffic, message content
 * included, to the function's logs), `proxy` (its credentials would not be
 * treated as secrets), `host` and `port` (they belong in the URI itself).
 */
const URI_OPTIONS: Readonly<Record<string, OptionKind>> = {
  // Connection pooling (nodemailer's smtp-pool transport).
  pool: "boolean",
  maxConnections: "count",
  maxMessages: "count",
  rateDelta: "count",
  rateLimit: "count",
  idleTimeout: "count",
  maxRequeues: "whole",
  // TLS negotiation: `secure` overrides what the scheme implies.
  secure: "boolean",
  requireTLS: "boolean",
  ignoreTLS: "boolean",
  opportunisticTLS: "boolean",
  // Timeouts, in milliseconds; nodemailer reads 0 as "its default", which the transport caps.
  connectionTimeout: "whole",
  greetingTimeout: "whole",
  socketTimeout: "whole",
  dnsTimeout: "whole",
  socketCloseTimeout: "whole",
  maxResponseSize: "count",
  // Greeting name (EHLO), preferred SASL method, and how the session is run.
  name: "text",
  authMethod: "text",
  forceAuth: "boolean",
  localAddress: "text",
  lmtp: "boolean",
  allowInternalNetworkInterfaces: "boolean",
  // A nodemailer well-known service name; it sets host, port and secure (applyService).
  service: "text",
  "tls.rejectUnauthorized": "boolean",
  "tls.servername": "text",
  "tls.minVersion": "text",
  "tls.maxVersion": "text",
  "tls.ciphers": "text",
  "tls.ecdhCurve": "text",
  "tls.sigalgs": "text",
  "tls.honorCipherOrder": "boolean",
};

const SCHEME = /^(smtps?):\/\/(.*)$/is;
/**
 * What follows the user info: a host name or a bracketed IPv6 address, an
 * optional port, an optional path, an optional query and an optional
 * fragment. No `@` or whitespace can appear in it, which is what makes the
 * last `@` of the URI the end of the user info. The path and the fragment
 * mean nothing to SMTP and are ignored, as nodemailer ignores them
 * (`smtp://host:587/` is a common paste).
 */
const HOST_PART =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([\p{L}\p{N}](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}])?))(?::([0-9]{1,5}))?(?:\/[^\s@?#]*)?(?:\?([^\s@#]*))?(?:#[^\s@]*)?$/u;
/** Spaces may appear in a pasted user name or password (HOST_PART refuses them after the "@"); other whitespace may not. */
const NO_CONTROL_WHITESPACE = /^[^\t\n\v\f\r]*$/;

/** Characters an RFC 3986 user info may hold unescaped, and `%XX` escapes. */
const ENCODED_USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const HAS_ESCAPE = /^.*%[0-9A-Fa-f]{2}.*$/s;

/**
 * Percent-decodes a user name or a password written in the URI, only when
 * it can only be an encoded one. (SMTP_PASSWORD is not a URI and is never
 * decoded.)
 *
 * Special characters may be percent-encoded in a URI (`p%23ss` for `p#ss`),
 * as a URI parser requires, or written as they are, as this extension
 * promises. Both must work. An encoded password consists solely of
 * URL-safe characters and `%XX` escapes, with at least one escape; a literal
 * password such as `p#ss@w%rd` holds a character an encoded one cannot (`#`,
 * `@`, a `%` not followed by two hex digits), so it is kept as written. The
 * one ambiguity left, a literal password like `abc%41` made only of safe
 * characters, is read as encoded: URI semantics.
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
 * (SMTP_PASSWORD) replaces any password in the URI and is used exactly as
 * given: a secret is not a URI, and `%41` in it means `%41`. A password written in the URI goes through decodePassword.
 *
 * Authentication is set only when the URI names a user: nodemailer cannot log
 * in with a password alone, and some relays (a local one, an IP-allowlisted
 * one) take mail without AUTH.
 *
 * Query options this extension does not pass on are left out, their names
 * added to `ignored` for the caller to log once.
 *
 * Throws ConfigError with INVALID_URI_MESSAGE when the URI cannot be read, and
 * a message naming the option for a bad value of a known query option. The
 * URI itself is never put in a message, since it may hold a password.
 */
export function smtpOptionsFromUri(uri: string, password?: string, ignored: string[] = []): SMTPTransport.Options {
  const scheme = NO_CONTROL_WHITESPACE.test(uri) ? SCHEME.exec(uri) : null;
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
  if (query) applyQuery(options, query, ignored);
  return options;
}

function credentials(userinfo: string, password: string | undefined): { user: string; pass?: string } | undefined {
  const colon = userinfo.indexOf(":");
  const user = decodePassword(colon < 0 ? userinfo : userinfo.slice(0, colon));
  if (!user) return undefined;
  const written = colon < 0 ? undefined : userinfo.slice(colon + 1);
  const pass = password ? password : written === undefined ? undefined : decodePassword(written);
  return pass === undefined ? { user } : { user, pass };
}

/** Applies the query options, reporting every bad value in a single ConfigError. */
function applyQuery(options: SMTPPool.Options, query: string, ignored: string[]): void {
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
      if (!ignored.includes(key)) ignored.push(key);
      continue;
    }
    if (seen.has(key)) {
      problems.push(`SMTP_CONNECTION_URI gives the option "${key}" more than once`);
      continue;
    }
    seen.add(key);
    const value = optionValue(kind, raw);
    if (value === undefined) {
      problems.push(`SMTP_CONNECTION_URI option "${key}" must be ${EXPECTED[kind]}, got ${received(raw)}`);
    } else if (key.startsWith("tls.")) {
      tls[key.slice(4)] = value;
    } else {
      target[key] = value;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  if (Object.keys(tls).length > 0) options.tls = tls;
  if (typeof options.service === "string") applyService(options, ignored);
}

/**
 * `service` names one of nodemailer's well-known providers, whose host, port
 * and security then replace the URI's, as nodemailer's own `service` does.
 * Resolved here rather than by nodemailer so that the rest of the extension (the
 * Microsoft rules, SendGrid detection, logs) sees the host actually used. An
 * unknown name is ignored, as nodemailer ignores it.
 */
function applyService(options: SMTPPool.Options, ignored: string[]): void {
  const service = wellKnown(options.service as string);
  delete options.service;
  if (!service) {
    ignored.push("service");
    return;
  }
  if (service.host !== undefined) options.host = service.host;
  if (service.port !== undefined) options.port = service.port;
  if (service.secure !== undefined) options.secure = service.secure;
}

const EXPECTED: Readonly<Record<OptionKind, string>> = {
  boolean: "true or false",
  count: "a whole number greater than zero",
  whole: "a whole number",
  text: "a non-empty value",
};

function optionValue(kind: OptionKind, raw: string): string | number | boolean | undefined {
  switch (kind) {
    // nodemailer read `1` and `0` as numbers, truthy and falsy.
    case "boolean":
      return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : undefined;
    case "count":
    case "whole": {
      const value = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isSafeInteger(value) && (value > 0 || kind === "whole") ? value : undefined;
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
