/**
 * SMTP_CONNECTION_URI (and the SMTP_PASSWORD secret) as nodemailer SMTP options. Split by hand rather than
 * by WHATWG `URL` or nodemailer: people paste unencoded user names and passwords (`me@gmail.com`,
 * `p#ss@w%rd`), which a URL parser silently reads as a fragment or the end of the user info.
 */
import { received, wholeNumber } from "./env-values";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import wellKnown from "nodemailer/lib/well-known";
import { ConfigError } from "../shared/errors";

/** Users search for this exact text. */
const INVALID_URI_MESSAGE = "Invalid URI: please reconfigure with a valid SMTP connection URI";

type OptionValue = string | number | boolean;
type OptionKind = { expected: string; parse(raw: string): OptionValue | undefined };
const wholeFrom = (min: number) => (raw: string) => {
  const value = wholeNumber(raw);
  return Number.isSafeInteger(value) && value >= min ? value : undefined;
};

/**
 * The query options passed on: nodemailer's scalar SMTP and pool options and the TLS options that fit in a
 * query (TLS_OPTIONS takes the rest). Any other option is ignored and reported by name, so old URIs keep
 * working. Ignored on purpose: `debug`, `logger`, `transactionLog` (they would log message content), `proxy`
 * (its credentials would not be redacted), `host` and `port` (they belong in the URI).
 */
const OPTION_KINDS: Array<[OptionKind, string[]]> = [
  [
    // `1` and `0` too: nodemailer's own URI parsing reads them as truthy and falsy.
    { expected: "true or false", parse: (raw) => (raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : undefined) },
    ["pool", "secure", "requireTLS", "ignoreTLS", "opportunisticTLS", "forceAuth", "lmtp", "allowInternalNetworkInterfaces", "tls.rejectUnauthorized", "tls.honorCipherOrder"],
  ],
  [{ expected: "a whole number greater than zero", parse: wholeFrom(1) }, ["maxConnections", "maxMessages", "rateDelta", "rateLimit", "idleTimeout", "maxResponseSize"]],
  // Timeouts in ms: nodemailer reads 0 as "its default", which the transport caps.
  [{ expected: "a whole number", parse: wholeFrom(0) }, ["maxRequeues", "connectionTimeout", "greetingTimeout", "socketTimeout", "dnsTimeout", "socketCloseTimeout"]],
  [
    { expected: "a non-empty value", parse: (raw) => raw || undefined },
    // `service` is a nodemailer well-known name (applyService).
    ["name", "authMethod", "localAddress", "service", "tls.servername", "tls.minVersion", "tls.maxVersion", "tls.ciphers", "tls.ecdhCurve", "tls.sigalgs"],
  ],
];
const URI_OPTIONS = new Map(OPTION_KINDS.flatMap(([kind, names]) => names.map((name) => [name, kind] as const)));

const SCHEME = /^(smtps?):\/\/(.*)$/is;
/**
 * Host name or [IPv6], then optional port, path, query and fragment. It holds no `@` or whitespace, which
 * makes the URI's last `@` the end of the user info. Path and fragment are ignored, as nodemailer does
 * (`smtp://host:587/` is a common paste).
 */
const HOST_PART =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([\p{L}\p{N}](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}])?))(?::([0-9]{1,5}))?(?:\/[^\s@?#]*)?(?:\?([^\s@#]*))?(?:#[^\s@]*)?$/u;
/** Spaces may appear in a pasted user name or password; other whitespace may not. */
const NO_CONTROL_WHITESPACE = /^[^\t\n\v\f\r]*$/;
/** RFC 3986 unreserved and sub-delim characters, and `%XX` escapes. */
const ENCODED_USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const HAS_ESCAPE = /^.*%[0-9A-Fa-f]{2}.*$/s;

/**
 * Decodes a user name or password written in the URI only when it can only be encoded: URL-safe characters
 * and `%XX` escapes, at least one. A literal `p#ss@w%rd` holds a character an encoded one cannot, so it is
 * kept; a literal `abc%41` is read as encoded (URI semantics). SMTP_PASSWORD is never decoded.
 */
export const decodePassword = (password: string): string =>
  ENCODED_USERINFO.test(password) && HAS_ESCAPE.test(password) ? tryDecode(password) : password;

/** Kept as written when not UTF-8 (`%FF`) or malformed: not encoded after all. */
function tryDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The URI's password, found even in an invalid URI so that logs scrub it either way. */
export function passwordInUri(uri: string): string | undefined {
  const rest = SCHEME.exec(uri)?.[2] ?? uri;
  const userinfo = rest.slice(0, Math.max(rest.lastIndexOf("@"), 0));
  const colon = userinfo.indexOf(":");
  return colon < 0 ? undefined : userinfo.slice(colon + 1);
}

/**
 * `smtp(s)://[user[:password]@]host[:port][?options]`: `smtps` is implicit TLS (default port 465), `smtp`
 * STARTTLS when offered (587). `password` (SMTP_PASSWORD) replaces the URI's, used exactly as given. Auth is
 * set only with a user: nodemailer cannot log in with a password alone, and some relays need no AUTH.
 * Ignored query options are added to `ignored`. Messages never quote the URI: it may hold a password.
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
  const pass = password || (colon < 0 ? undefined : decodePassword(userinfo.slice(colon + 1)));
  return pass === undefined ? { user } : { user, pass };
}

function applyQuery(options: SMTPPool.Options, query: string, ignored: string[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  const tls: Record<string, OptionValue> = {};
  for (const pair of query.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const key = decodeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const raw = eq < 0 ? "" : decodeQuery(pair.slice(eq + 1));
    const kind = URI_OPTIONS.get(key);
    if (!kind) {
      if (!ignored.includes(key)) ignored.push(key);
    } else if (seen.has(key)) {
      problems.push(`SMTP_CONNECTION_URI gives the option "${key}" more than once`);
    } else {
      seen.add(key);
      const value = kind.parse(raw);
      if (value === undefined) problems.push(`SMTP_CONNECTION_URI option "${key}" must be ${kind.expected}, got ${received(raw)}`);
      else if (key.startsWith("tls.")) tls[key.slice(4)] = value;
      else (options as Record<string, unknown>)[key] = value;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  if (Object.keys(tls).length > 0) options.tls = tls;
  if (typeof options.service === "string") applyService(options, ignored);
}

/**
 * A nodemailer well-known service replaces the URI's host, port and security, as nodemailer's own `service` does;
 * resolved here so that the Microsoft rules, SendGrid detection and logs see the host used. An unknown name is ignored.
 */
function applyService(options: SMTPPool.Options, ignored: string[]): void {
  const service = wellKnown(options.service as string);
  delete options.service;
  if (!service) {
    ignored.push("service");
    return;
  }
  for (const key of ["host", "port", "secure"] as const) if (service[key] !== undefined) (options as Record<string, unknown>)[key] = service[key];
}

/** Query strings use `+` for spaces. */
const decodeQuery = (text: string): string => tryDecode(text.replace(/\+/g, " "));
