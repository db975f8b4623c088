import { Timestamp } from "firebase-admin/firestore";
import { ValidationError } from "../../../src/shared/errors";
import { SENDER_PATTERN } from "../../../src/config/sender-pattern";
import { LIMITS, validateMailDocument } from "../../../src/mail/validation";
import { caught } from "../../helpers/caught";

/** A valid document that each case changes in one place. */
const base = (): Record<string, unknown> => ({
  to: "ada@example.com",
  message: { subject: "Hello", text: "Hi", attachments: [{ filename: "a.txt", content: "abc" }] },
  template: { name: "welcome" },
});

/** Returns a copy of `base()` with `value` set at a dotted path such as `message.attachments[0].path`. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const doc = base();
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let target = doc as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys[keys.length - 1]] = value;
  return doc;
}

/** The ValidationError `doc` is refused with. */
const errorOf = (doc: Record<string, unknown>): ValidationError => caught(ValidationError, () => validateMailDocument(doc));

describe("validateMailDocument: accepted documents", () => {
  it("normalises recipients to arrays and drops empty ones", () => {
    const { mail } = validateMailDocument({ to: "a@x.io", cc: "", bcc: ["b@x.io", "", "  "], message: { text: "t" } });
    expect(mail).toMatchObject({ to: ["a@x.io"], cc: [], bcc: ["b@x.io"], toUids: [], ccUids: [], bccUids: [] });
  });

  it("passes supported message fields through, amp and messageId included", () => {
    const message = {
      subject: "S", text: "T", html: "<p>H</p>", amp: "<!doctype html><html ⚡4email></html>",
      messageId: "<id@example.com>", inReplyTo: "<prev@example.com>", references: ["<a@x>", "<b@x>"], priority: "high",
    };
    expect(validateMailDocument({ to: "a@x.io", message }).mail.message).toEqual(message);
  });

  it.each([
    ["a Firestore Timestamp", Timestamp.fromMillis(Date.UTC(2024, 0, 2))],
    ["an ISO string", "2024-01-02T00:00:00Z"],
    ["a Date", new Date(Date.UTC(2024, 0, 2))],
  ])("reads message.date from %s", (_label, date) => {
    expect(validateMailDocument({ to: "a@x.io", message: { date } }).mail.message?.date).toEqual(new Date(Date.UTC(2024, 0, 2)));
  });

  it("keeps top-level fields it knows and ignores delivery and clients' own fields", () => {
    const sendGrid = { templateId: "d-1", dynamicTemplateData: { a: 1 } };
    const { mail, ignoredFields } = validateMailDocument({
      toUids: ["u1"], from: "Me <me@x.io>", replyTo: "r@x.io", headers: { "X-Tag": ["a", "b"] },
      sendGrid, categories: ["c"], delivery: { state: "PENDING" }, myAppField: 1,
    });
    expect(mail).toEqual({
      to: [], cc: [], bcc: [], toUids: ["u1"], ccUids: [], bccUids: [], from: "Me <me@x.io>", replyTo: "r@x.io",
      headers: { "X-Tag": ["a", "b"] }, sendGrid, categories: ["c"],
    });
    expect(ignoredFields).toEqual([]);
  });

  it("reads null as absent", () => {
    const { mail } = validateMailDocument({ to: "a@x.io", cc: null, from: null, message: { subject: "s", html: null } });
    expect(mail).toEqual({ to: ["a@x.io"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [], message: { subject: "s" } });
  });

  it("defaults template data to an empty map", () => {
    expect(validateMailDocument({ template: { name: "welcome" } }).mail.template).toEqual({ name: "welcome", data: {} });
  });

  it("reports and drops unknown message, attachment and template fields", () => {
    const { mail, ignoredFields } = validateMailDocument({
      to: "a@x.io",
      message: { subject: "s", raw: "From: evil", envelope: {}, attachments: [{ content: "c", tls: { rejectUnauthorized: false } }] },
      template: { name: "t", partials: true },
    });
    expect(ignoredFields).toEqual([
      "message.raw", "message.envelope", "message.attachments[0].tls", "template.partials",
    ]);
    expect(mail.message).toEqual({ subject: "s", attachments: [{ content: "c" }] });
  });

  it("reports at most a bounded number of ignored fields", () => {
    const message = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`unknown${i}`, i]));
    expect(validateMailDocument({ to: "a@x.io", message }).ignoredFields).toHaveLength(LIMITS.ignoredFieldsReported);
  });

  it("keeps a header named __proto__ as a header", () => {
    const headers = JSON.parse('{"__proto__": "x"}') as Record<string, unknown>;
    const result = validateMailDocument({ to: "a@x.io", message: { text: "t" }, headers }).mail.headers ?? {};
    expect(Object.keys(result)).toEqual(["__proto__"]);
  });

  it.each([
    ["bytes", { content: Buffer.from([1, 2, 3]) }],
    ["a Uint8Array", { content: new Uint8Array([1, 2, 3]) }],
    ["an https URL", { path: "https://cdn.example.com/report.pdf" }],
    ["an https href in capitals", { href: "HTTPS://Example.COM/a.pdf" }],
    ["an internationalised domain", { href: "https://bücher.example/a.pdf" }],
    ["a data URI", { path: "data:text/plain;base64,aGk=", encoding: "base-64", contentDisposition: "inline", cid: "x@y" }],
  ])("accepts an attachment with %s", (_label, attachment) => {
    const { mail } = validateMailDocument({ to: "a@x.io", message: { attachments: [attachment] } });
    expect(mail.message?.attachments).toEqual([attachment]);
  });

  it("accepts exactly the recipient limit", () => {
    const to = Array.from({ length: LIMITS.recipients / 2 }, (_, i) => `u${i}@x.io`);
    const toUids = Array.from({ length: LIMITS.recipients / 2 }, (_, i) => `uid${i}`);
    expect(validateMailDocument({ to, toUids, message: { text: "t" } }).mail.to).toHaveLength(LIMITS.recipients / 2);
  });

  it("survives odd unicode in values", () => {
    const odd = "\ud800\u202e\u0000😀\u2028";
    const { mail } = validateMailDocument({ to: `${odd} <a@x.io>`, message: { subject: odd, html: odd } });
    expect(mail.message?.subject).toBe(odd);
  });
});

describe("validateMailDocument: error texts", () => {
  const SCHEME = "must be an https URL or a data URI (local files, http: and other URL schemes are not allowed)";
  const HOST = "must be an https URL whose host is a public domain name (IP addresses, localhost and internal hosts are not allowed)";
  const attachmentPath = (path: string) => withField("message.attachments", [{ path }]);

  it.each<[string, Record<string, unknown>, string]>([
    ["subject", withField("message.subject", 1), "Invalid message configuration: Field 'message.subject' must be a string"],
    ["message", withField("message", "hi"), "Invalid message configuration: Field 'message' must be a map"],
    ["filename", withField("message.attachments", [{ content: "a" }, { content: "b" }, { content: "c", filename: 7 }]),
      "Invalid message configuration: Field 'message.attachments[2].filename' must be a string"],
    ["to", withField("to", 5), 'Invalid field "to". Expected a string or an array of strings.'],
    ["bcc", withField("bcc", ["a@x.io", 1]), 'Invalid field "bcc". Expected a string or an array of strings.'],
    ["toUids", withField("toUids", "uid"), 'Invalid field "toUids". Expected an array of strings.'],
    ["ccUids", withField("ccUids", [""]), 'Invalid field "ccUids". Expected an array of user ids (non-empty strings of at most 1500 characters without "/").'],
    ["from", withField("from", 3), 'Invalid field "from". Expected a string.'],
    ["replyTo", withField("replyTo", "a@x.io\r\nBcc: b@x.io"), 'Invalid field "replyTo". Expected a string without line breaks.'],
    ["categories", withField("categories", "news"), 'Invalid field "categories". Expected an array of strings.'],
    ["sendGrid", withField("sendGrid", []), 'Invalid field "sendGrid". Expected a map.'],
    ["template.name", withField("template", { name: "" }), 'Invalid field "template.name". Expected a non-empty string.'],
    ["template.name length", withField("template", { name: "t".repeat(1501) }),
      'Invalid field "template.name". Expected a template name of at most 1500 characters.'],
    ["template.data", withField("template", { name: "t", data: [1] }), 'Invalid field "template.data". Expected a map.'],
    ["nothing to send", { to: "a@x.io", delivery: {} }, 'Invalid mail document. Expected at least one of "message", "template" or "sendGrid".'],
    ["CRLF in header", withField("headers", { "X-Tag": "a\r\nBcc: evil@x.io" }),
      'Invalid field "headers.X-Tag". Expected a string or an array of strings without line breaks.'],
    ["LF in message header", withField("message.headers", { "X-Tag": ["ok", "a\nb"] }),
      "Invalid message configuration: Field 'message.headers.X-Tag' must be a string or an array of strings without line breaks"],
    ["prepared header", withField("headers", { "X-Raw": { prepared: true, value: "a\r\nb" } }),
      'Invalid field "headers.X-Raw". Expected a string or an array of strings without line breaks.'],
    ["overlong word in subject", withField("message.subject", `Hi ${"x".repeat(901)}`),
      "Invalid message configuration: Field 'message.subject' must be a string without words longer than 900 characters"],
    ["overlong word in header", withField("headers", { "X-Tag": "y".repeat(2000) }),
      'Invalid field "headers.X-Tag". Expected a string or an array of strings without words longer than 900 characters.'],
    ["overlong message id", withField("message.messageId", `<${"z".repeat(1000)}@x.io>`),
      "Invalid message configuration: Field 'message.messageId' must be a string without words longer than 900 characters"],
    ["header name", withField("headers", { "Bad: Name": "x" }),
      `Invalid field "headers". Expected a map whose keys are header names (1-200 printable ASCII characters without spaces or ':').`],
    ["priority", withField("message.priority", "urgent"), `Invalid message configuration: Field 'message.priority' must be one of "high", "normal", "low"`],
    ["date", withField("message.date", "next tuesday"), "Invalid message configuration: Field 'message.date' must be a timestamp or an ISO 8601 date string"],
    ["encoding", withField("message.attachments[0].encoding", "rot13"),
      `Invalid message configuration: Field 'message.attachments[0].encoding' must be a known encoding such as "base64", "hex" or "utf8"`],
    ["no content", withField("message.attachments", [{ filename: "a" }]),
      `Invalid message configuration: Field 'message.attachments[0]' must be a map with "content", "path", "href", "storagePath" or "raw"`],
    ["too many recipients", withField("to", Array.from({ length: 1001 }, (_, i) => `u${i}@x.io`)),
      "Invalid recipients. Expected at most 1000 addresses and user ids across to, cc, bcc, toUids, ccUids and bccUids."],
    ["local path", attachmentPath("/proc/self/environ"), `Invalid message configuration: Field 'message.attachments[0].path' ${SCHEME}`],
    ["loopback URL", attachmentPath("https://127.0.0.1/x"), `Invalid message configuration: Field 'message.attachments[0].path' ${HOST}`],
  ])("%s", (_label, doc, message) => {
    expect(errorOf(doc).message).toBe(message);
  });

  it.each([
    "/proc/self/environ", "../secrets.json", "C:\\Windows\\win.ini", "\\\\server\\share\\f", "file:///etc/passwd",
    "http://example.com/a.pdf", "ftp://example.com/a", "javascript:alert(1)", " https://example.com/a",
    "https:example.com/a", "https:/example.com/a", "DATA:text/plain,hi", "data:text/plain;base64", "https://exa mple.com/",
  ])("refuses the attachment location %j", (location) => {
    for (const key of ["path", "href"]) {
      expect(errorOf(withField("message.attachments", [{ [key]: location }])).message).toMatch(/https URL or a data URI|data URI of the form/);
    }
  });

  it.each([
    "https://localhost/a", "https://LOCALHOST./a", "https://app.localhost/a", "https://[::1]/a", "https://0x7f.1/a",
    "https://2130706433/a", "https://169.254.169.254/computeMetadata/v1/", "https://metadata.google.internal/a",
    "https://metadata/a", "https://printer.local/a", "https://10.0.0.1:8443/a",
  ])("refuses the internal host in %s", (location) => {
    expect(errorOf(attachmentPath(location)).message).toContain("public domain name");
  });

  it("counts each address inside comma-separated strings", () => {
    // The quoted commas are not separators: 3 x 333 passes, 3 x 334 does not.
    const entry = (count: number, n: number) => Array.from({ length: count }, (_, i) => `"Doe, J${i}" <u${n}.${i}@x.io>`).join(", ");
    expect(validateMailDocument({ to: [entry(333, 1), entry(333, 2), entry(333, 3)], message: { text: "t" } }).mail.to).toHaveLength(3);
    const to = [entry(334, 1), entry(334, 2), entry(334, 3)];
    expect(errorOf({ to, message: { text: "t" } }).message).toMatch(/^Invalid recipients/);
  });

  it("counts user ids with addresses", () => {
    const doc = { to: Array(600).fill("a@x.io"), bccUids: Array(401).fill("uid"), message: { text: "t" } };
    expect(errorOf(doc).message).toMatch(/^Invalid recipients/);
  });
});

describe("validateMailDocument: malformed documents", () => {
  class NotAMap {
    readonly field = 1;
  }
  // Values that are wrong for every field below, whatever type it expects.
  const wrongEverywhere: unknown[] = [42, true, Number.NaN, [[["deep"]]], new NotAMap()];
  const fields = [
    "to", "toUids", "from", "headers", "message", "template", "categories", "message.subject",
    "message.attachments", "message.attachments[0]", "message.attachments[0].path", "message.headers",
  ];
  const huge = "x".repeat(2_000_000);
  const specific: Array<[string, unknown]> = [
    ["template.name", huge], ["to", `${huge}@x.io`], ["headers", { [huge]: "v" }], ["headers", { "X-A": `${huge}\r\n` }],
    ["headers", { "X-😀": "v" }], ["message.attachments[0].path", `/tmp/${huge}`], ["message.attachments[0].href", "https://ex\u0000ample.com/"],
    ["message.attachments[0].content", { nested: { deeper: [null] } }], ["message.attachments", Array(101).fill({ content: "c" })],
    ["message.date", { toDate: () => { throw new RangeError("bad"); } }], ["message.references", Array(101).fill("<a@x>")],
    ["sendGrid", "\ud800"], ["template", { name: "a/b", data: [] }], ["message.headers", Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`X-${i}`, "v"]))],
  ];
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ...fields.flatMap((field) => wrongEverywhere.map((value, i): [string, Record<string, unknown>, string] => [`${field} #${i}`, withField(field, value), field])),
    ...specific.map(([field, value], i): [string, Record<string, unknown>, string] => [`${field} (specific #${i})`, withField(field, value), field]),
  ];
  /** The field as an error names it, quoted: "to", 'message.attachments[0].path' (or the start of a field below it). */
  const named = (field: string) => new RegExp(`["']${field.replace(/[.[\]]/g, "\\$&")}["'.[]`);

  it("starts from a valid document, so each failure comes from the one change", () => {
    expect(() => validateMailDocument(base())).not.toThrow();
  });

  it.each(cases)("%s throws a short ValidationError naming the field", (_label, doc, field) => {
    const error = errorOf(doc);
    // The value is never echoed, so even a 2 MB value gives a short message.
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toMatch(named(field));
  });
});

describe("sender and reply-to addresses in every form the original accepted", () => {
  it.each([
    '"ACME <Support>" <help@acme.test>',
    '"john doe"@example.com',
    'Name <"john doe"@example.com>',
    "Friendly Firebaser <foobar@example.com>",
    "a@example.com, Support <b@example.com>",
  ])("from and replyTo %j are passed on as written", (address) => {
    const { mail } = validateMailDocument({ ...base(), from: address, replyTo: address });
    expect(mail.from).toBe(address);
    expect(mail.replyTo).toBe(address);
  });

  it.each(["from", "replyTo"])("%s with a line break is refused by name", (field) => {
    expect(errorOf(withField(field, '"ACME" <help@acme.test>\r\nBcc: x@evil.test')).message).toBe(
      `Invalid field "${field}". Expected a string without line breaks.`,
    );
  });
});

describe("SENDER_PATTERN (DEFAULT_FROM)", () => {
  it.each([
    "foobar@example.com", "<foobar@example.com>", '"ACME <Support>" <help@acme.test>', '"john doe"@example.com',
    'Name <"john doe"@example.com>', '"a@b"@example.com', "Tab\tName <a@example.com>", "Émile <émile@exämple.com>",
  ])("accepts %j", (value) => {
    expect(SENDER_PATTERN.test(value)).toBe(true);
  });

  it.each([
    "", "foobar", "foobar@example", "foobar@example.c", "Me <me@example>", "a b@example.com", "<a@example.com",
    "x@example.com\r\nBcc: y@example.com", "Name\n<a@example.com>", '"john\rdoe"@example.com', "a\u0000@example.com",
  ])("refuses %j", (value) => {
    expect(SENDER_PATTERN.test(value)).toBe(false);
  });
});

describe("dsn (SMTP delivery status notifications)", () => {
  const dsnOf = (dsn: unknown) => validateMailDocument({ to: "a@x.io", message: { text: "t" }, dsn }).mail.dsn;

  it.each<[string, unknown, unknown]>([
    ["every field", { notify: ["success", "failure", "delay"], ret: "headers", envid: "order-42" }, { notify: ["success", "failure", "delay"], ret: "headers", envid: "order-42" }],
    ["notify never", { notify: "never" }, { notify: "never" }],
    ["never as a one-item array", { notify: ["never"] }, { notify: "never" }],
    ["ret full alone", { ret: "full" }, { ret: "full" }],
    ["an envid of exactly 100 printable characters, spaces included", { envid: `a b~${"x".repeat(96)}` }, { envid: `a b~${"x".repeat(96)}` }],
    ["null fields as absent", { notify: null, ret: "full", envid: null }, { ret: "full" }],
    ["an empty map", {}, {}],
  ])("accepts %s", (_label, dsn, expected) => {
    expect(dsnOf(dsn)).toEqual(expected);
  });

  it("is absent when the document has none, so that such documents send as before", () => {
    expect(validateMailDocument({ to: "a@x.io", message: { text: "t" } }).mail).not.toHaveProperty("dsn");
    expect(validateMailDocument({ to: "a@x.io", message: { text: "t" }, dsn: null }).mail).not.toHaveProperty("dsn");
  });

  const NOTIFY = 'Invalid field "dsn.notify". Expected an array of "success", "failure" and "delay", each at most once, or "never"';
  const ENVID = 'Invalid field "dsn.envid". Expected a string of 1 to 100 printable ASCII characters (RFC 3461).';
  it.each<[string, unknown, string]>([
    ["a string", "failure", 'Invalid field "dsn". Expected a map such as {notify: ["failure", "delay"], ret: "headers", envid: "order-42"}.'],
    ["never combined with another value", { notify: ["never", "failure"] }, `${NOTIFY} ("never" cannot be combined with other values).`],
    ["an unknown notify value", { notify: ["failure", "bounce"] }, `${NOTIFY}.`],
    ["notify in capitals", { notify: ["FAILURE"] }, `${NOTIFY}.`],
    ["a notify value twice", { notify: ["delay", "delay"] }, `${NOTIFY}.`],
    ["an empty notify array", { notify: [] }, `${NOTIFY}.`],
    ["a single notify value other than never as a string", { notify: "failure" }, `${NOTIFY}.`],
    ["an unknown ret", { ret: "hdrs" }, 'Invalid field "dsn.ret". Expected one of "full", "headers".'],
    ["an envid of 101 characters", { envid: "x".repeat(101) }, ENVID],
    ["an empty envid", { envid: "" }, ENVID],
    ["an envid that is a number", { envid: 42 }, ENVID],
    ["an envid with a line break (SMTP command injection)", { envid: "id\r\nRCPT TO:<victim@example.com>" }, ENVID],
    ["an envid with non-ASCII", { envid: "commande-é" }, ENVID],
    ["an unknown key", { notify: ["failure"], orcpt: "rfc822;a@x.io" }, 'Invalid field "dsn.orcpt". Expected absent: "dsn" takes only "notify", "ret" and "envid".'],
    ["a misspelt key", { notfy: ["failure"] }, 'Invalid field "dsn.notfy". Expected absent: "dsn" takes only "notify", "ret" and "envid".'],
  ])("refuses %s, naming the field and what was expected", (_label, dsn, message) => {
    expect(errorOf({ ...base(), dsn }).message).toBe(message);
  });
});

describe("validateMailDocument: locale and timeZone", () => {
  const templated = (extra: Record<string, unknown>) => ({ to: "a@example.com", template: { name: "welcome" }, ...extra });
  const failure = (doc: Record<string, unknown>): string => caught(ValidationError, () => validateMailDocument(doc)).message;

  it("are read in canonical form with a template", () => {
    const { mail } = validateMailDocument(templated({ locale: "de-ch", timeZone: "europe/zurich" }));
    expect(mail).toMatchObject({ locale: "de-CH", timeZone: "Europe/Zurich" });
  });

  it("take a locale written with an underscore, as apps often store it", () => {
    expect(validateMailDocument(templated({ locale: "pt_BR" })).mail.locale).toBe("pt-BR");
  });

  it("null means absent", () => {
    const { mail } = validateMailDocument(templated({ locale: null, timeZone: null }));
    expect(mail).not.toHaveProperty("locale");
    expect(mail).not.toHaveProperty("timeZone");
  });

  it.each([
    ["locale", "not a locale", 'Invalid field "locale". Expected a BCP 47 language tag such as "de" or "de-CH" (at most 64 characters).'],
    ["locale", 5, 'Invalid field "locale". Expected a BCP 47 language tag'],
    ["locale", `de-${"a".repeat(70)}`, 'Invalid field "locale". Expected a BCP 47 language tag'],
    ["timeZone", "Mars/Olympus", 'Invalid field "timeZone". Expected an IANA time zone such as "Europe/Zurich" or "UTC" (at most 64 characters).'],
    ["timeZone", { zone: "UTC" }, 'Invalid field "timeZone". Expected an IANA time zone'],
  ])("a bad %s (%p) ends in an error naming the field", (field, value, expected) => {
    expect(failure(templated({ [field]: value }))).toContain(expected);
  });

  it("are not read without a template: documents valid before stay valid", () => {
    const { mail, ignoredFields } = validateMailDocument({ to: "a@example.com", message: { text: "t" }, locale: "english (UK)", timeZone: "CET+1" });
    expect(mail).not.toHaveProperty("locale");
    expect(mail).not.toHaveProperty("timeZone");
    expect(ignoredFields).toEqual([]);
  });
});

describe("stream (mail streams)", () => {
  const streamOf = (stream: unknown) => validateMailDocument({ ...base(), stream }).mail.stream;

  it.each(["transactional", "newsletter", "a", "0", "product-updates", "billing_2026", "x".repeat(63)])("accepts %p", (stream) => {
    expect(streamOf(stream)).toBe(stream);
  });

  it("is absent when the document has none (null too), so that such documents behave as before", () => {
    expect(validateMailDocument(base()).mail).not.toHaveProperty("stream");
    expect(validateMailDocument({ ...base(), stream: null }).mail).not.toHaveProperty("stream");
  });

  const EXPECTED = 'Invalid field "stream". Expected a stream name: 1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit, such as "transactional" or "newsletter".';
  it.each<[string, unknown]>([
    ["an empty string", ""],
    ["capitals", "Newsletter"],
    ["a leading dash", "-news"],
    ["a dot (a field path separator)", "news.letter"],
    ["a star", "*"],
    ["a space", "news letter"],
    ["64 characters", "x".repeat(64)],
    ["a number", 7],
    ["an array", ["newsletter"]],
    ["a map", { name: "newsletter" }],
    ["non-ASCII", "actualités"],
  ])("refuses %s, naming the field", (_label, stream) => {
    expect(errorOf({ ...base(), stream }).message).toBe(EXPECTED);
  });
});
