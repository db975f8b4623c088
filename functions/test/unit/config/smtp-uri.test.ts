import { ConfigError } from "../../../src/shared/errors";
import { decodePassword, passwordInUri, smtpOptionsFromUri } from "../../../src/config/smtp-uri";
import { caught } from "../../helpers/caught";

const INVALID = "Invalid URI: please reconfigure with a valid SMTP connection URI";

describe("smtpOptionsFromUri: what reaches nodemailer", () => {
  it.each([
    ["smtps://smtp.example.com", { host: "smtp.example.com", port: 465, secure: true }],
    ["smtp://smtp.example.com", { host: "smtp.example.com", port: 587, secure: false }],
    ["smtp://smtp.example.com:2525", { host: "smtp.example.com", port: 2525, secure: false }],
    ["SMTPS://smtp.example.com:465/", { host: "smtp.example.com", port: 465, secure: true }],
    // A path or a fragment means nothing to SMTP; nodemailer ignored them for the original.
    ["smtp://smtp.example.com:587/path/", { host: "smtp.example.com", port: 587, secure: false }],
    ["smtp://user:pw@smtp.example.com:587/?pool=false#notes", { host: "smtp.example.com", port: 587, auth: { user: "user", pass: "pw" }, pool: false }],
    ["smtp://[::1]:25", { host: "::1", port: 25, secure: false }],
    ["smtp://mail_relay.internal:25", { host: "mail_relay.internal", port: 25, secure: false }],
    ["smtp://user@host:587", { host: "host", port: 587, auth: { user: "user" } }],
    ["smtp://user:secret@host:587", { auth: { user: "user", pass: "secret" } }],
    // The user name is an address: the user info ends at the last "@".
    ["smtps://me@gmail.com@smtp.gmail.com:465", { host: "smtp.gmail.com", auth: { user: "me@gmail.com" } }],
    ["smtps://me%40gmail.com:pw@smtp.gmail.com:465", { host: "smtp.gmail.com", auth: { user: "me@gmail.com", pass: "pw" } }],
    // Passwords pasted raw or percent-encoded give the same password.
    ["smtp://user:p#ss@w%rd@host:587", { host: "host", port: 587, auth: { user: "user", pass: "p#ss@w%rd" } }],
    ["smtp://user:p%23ss%40w%25rd@host:587", { host: "host", auth: { user: "user", pass: "p#ss@w%rd" } }],
    ["smtp://user:a:b/c?d@host:587", { host: "host", auth: { user: "user", pass: "a:b/c?d" } }],
    ["smtp://user:@host:587", { auth: { user: "user", pass: "" } }],
  ])("%s", (uri, expected) => {
    expect(smtpOptionsFromUri(uri)).toMatchObject(expected);
  });

  it("sets no auth without a user name, even with a password", () => {
    expect(smtpOptionsFromUri("smtp://host:25").auth).toBeUndefined();
    expect(smtpOptionsFromUri("smtp://:secret@host:25").auth).toBeUndefined();
    expect(smtpOptionsFromUri("smtp://host:25", "secret").auth).toBeUndefined();
  });

  it.each([
    ["plain", "smtp://user:old@host:587", "n3w#p@ss", "n3w#p@ss"],
    // A secret is used as given, as the original did; only a password inside the URI is percent-decoded.
    ["with %XX, kept literally", "smtp://user:old@host:587", "n3w%23p%40ss", "n3w%23p%40ss"],
    ["%41 stays %41", "smtp://user@host:587", "abc%41", "abc%41"],
    ["URI without password", "smtp://user@host:587", "p#ss@w%rd", "p#ss@w%rd"],
  ])("SMTP_PASSWORD (%s) replaces the URI's password", (_, uri, password, expected) => {
    expect(smtpOptionsFromUri(uri, password).auth).toEqual({ user: "user", pass: expected });
  });
});

describe("smtpOptionsFromUri: query options", () => {
  it.each([
    ["?pool=true", { pool: true }],
    ["?pool=false&maxConnections=3&maxMessages=50", { pool: false, maxConnections: 3, maxMessages: 50 }],
    ["?secure=false", { secure: false }],
    ["?requireTLS=true&name=client.example.com", { requireTLS: true, name: "client.example.com" }],
    ["?connectionTimeout=10000&socketTimeout=30000", { connectionTimeout: 10000, socketTimeout: 30000 }],
    ["?authMethod=PLAIN", { authMethod: "PLAIN" }],
    ["?tls.rejectUnauthorized=false&tls.minVersion=TLSv1.2", { tls: { rejectUnauthorized: false, minVersion: "TLSv1.2" } }],
    ["?", {}],
    // nodemailer read 1 and 0 as numbers, truthy and falsy; 0 ms means its default timeout.
    ["?pool=1&requireTLS=0", { pool: true, requireTLS: false }],
    ["?socketTimeout=0&maxRequeues=0", { socketTimeout: 0, maxRequeues: 0 }],
    ["?localAddress=10.0.0.2&lmtp=false&forceAuth=true", { localAddress: "10.0.0.2", lmtp: false, forceAuth: true }],
    ["?idleTimeout=30000&socketCloseTimeout=1000&maxResponseSize=65536", { idleTimeout: 30000, socketCloseTimeout: 1000, maxResponseSize: 65536 }],
    ["?tls.ecdhCurve=auto&tls.honorCipherOrder=true", { tls: { ecdhCurve: "auto", honorCipherOrder: true } }],
  ])("%s", (query, expected) => {
    expect(smtpOptionsFromUri(`smtps://user:pw@host:465${query}`)).toEqual({
      host: "host",
      port: 465,
      secure: true,
      auth: { user: "user", pass: "pw" },
      ...expected,
    });
  });

  it.each([
    ["?foo=1", ["foo"], {}],
    ["?pol=true&pool=1", ["pol"], { pool: true }],
    // Known to nodemailer but unsafe here: they would log SMTP traffic, or move the connection.
    ["?debug=true&logger=true&transactionLog=true", ["debug", "logger", "transactionLog"], {}],
    ["?port=25&host=evil.example&proxy=http://p.example:3128", ["port", "host", "proxy"], {}],
    ["?tls.checkServerIdentity=x&a.b=1&foo=1&foo=2", ["tls.checkServerIdentity", "a.b", "foo"], {}],
    ["?service=NoSuchService", ["service"], {}],
  ])("%s: ignored options are listed by name and left out", (query, names, expected) => {
    const ignored: string[] = [];
    expect(smtpOptionsFromUri(`smtp://user:hunter22@host:587${query}`, undefined, ignored)).toEqual({
      host: "host",
      port: 587,
      secure: false,
      auth: { user: "user", pass: "hunter22" },
      ...expected,
    });
    expect(ignored).toEqual(names);
  });

  it("service: a nodemailer well-known service sets host, port and security, as it did for the original", () => {
    expect(smtpOptionsFromUri("smtp://me@gmail.com@whatever.example:25?service=gmail&pool=false")).toEqual({
      host: "smtp.gmail.com",
      port: 465,
      secure: true,
      auth: { user: "me@gmail.com" },
      pool: false,
    });
  });

  it.each([
    ["?pool=yes", 'SMTP_CONNECTION_URI option "pool" must be true or false, got "yes"'],
    ["?maxConnections=0", 'SMTP_CONNECTION_URI option "maxConnections" must be a whole number greater than zero, got "0"'],
    ["?socketTimeout=-1", 'SMTP_CONNECTION_URI option "socketTimeout" must be a whole number, got "-1"'],
    ["?maxConnections=12abc", 'SMTP_CONNECTION_URI option "maxConnections" must be a whole number greater than zero, got "12abc"'],
    ["?maxConnections=1.5", 'SMTP_CONNECTION_URI option "maxConnections" must be a whole number greater than zero, got "1.5"'],
    ["?name=", 'SMTP_CONNECTION_URI option "name" must be a non-empty value, got ""'],
    ["?pool=true&pool=false", 'SMTP_CONNECTION_URI gives the option "pool" more than once'],
    [
      "?pool=maybe&maxMessages=x",
      'SMTP_CONNECTION_URI option "pool" must be true or false, got "maybe"; SMTP_CONNECTION_URI option "maxMessages" must be a whole number greater than zero, got "x"',
    ],
  ])("a bad value: %s is refused by name, without the URI", (query, message) => {
    const attempt = () => smtpOptionsFromUri(`smtp://user:hunter22@host:587${query}`);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    expect(() => attempt()).not.toThrow(/hunter22/);
  });
});

describe("smtpOptionsFromUri: unreadable URIs", () => {
  it.each([
    "",
    "smtp://",
    "smtp://:587",
    "smtp://host:",
    "smtp://host:notaport",
    "smtp://host:587 junk",
    " smtp://host:587",
    "smtp://host:0",
    "smtp://host:65536",
    "smtp://host:123456",
    "http://host:25",
    "host:587",
    "smtp:/host:587",
    "smtp://user@",
    "smtp://user:pw@:587",
    "smtp://ho st:587",
    "smtp://host.:587",
  ])("%j", (uri) => {
    expect(caught(ConfigError, () => smtpOptionsFromUri(uri)).message).toBe(INVALID);
  });
});

describe("decodePassword", () => {
  it.each([
    ["p%23ss%40w%25rd", "p#ss@w%rd"],
    ["p#ss@w%rd", "p#ss@w%rd"],
    ["plain", "plain"],
    ["100%", "100%"],
    ["a%2", "a%2"],
    ["%41bc", "Abc"],
    ["sp%20ace!$&'()*+,;=:~", "sp ace!$&'()*+,;=:~"],
    ["has space%20", "has space%20"],
    ["caf%C3%A9", "café"],
    ["bad%FFutf8", "bad%FFutf8"],
    ["a+b", "a+b"],
  ])("%s -> %s", (input, expected) => {
    expect(decodePassword(input)).toBe(expected);
  });
});

describe("passwordInUri", () => {
  it.each([
    ["smtp://user:p#ss@w%rd@host:587", "p#ss@w%rd"],
    ["smtp://user:secret@host:bad port", "secret"],
    ["smtp://user@host:587", undefined],
    ["smtp://host:587", undefined],
  ])("%s", (uri, expected) => {
    expect(passwordInUri(uri)).toBe(expected);
  });
});
