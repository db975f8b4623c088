/**
 * Generates malformed mail documents: each field of the document contract
 * given values of the wrong type, nested garbage, out-of-bounds sizes, odd
 * unicode, missing parts and broken `delivery`/`sendAt` fields. Every case
 * starts from a valid document and breaks one thing (or a few), so each must
 * end in ERROR. Deterministic: the same list on every run.
 */
export interface MalformedCase {
  name: string;
  data: Record<string, unknown>;
}

const VALID = { to: "a@example.com", message: { subject: "Subject", text: "Body" } };

const UNICODE = "ünïcødé 💥 \u202e\u0000 漢字";

/** Values of every Firestore type but string, for fields that want strings. */
const NOT_STRINGS: Array<[string, unknown]> = [
  ["a number", 42],
  ["a negative float", -1.5],
  ["a boolean", true],
  ["an empty map", {}],
  ["a nested map", { a: { b: [1, { c: null }] } }],
  ["an array of numbers", [1, 2, 3]],
  ["an array of maps", [{ x: UNICODE }]],
];

/** For fields that take a string or an array of strings. */
const NOT_ADDRESS_LISTS: Array<[string, unknown]> = [
  ...NOT_STRINGS.filter(([name]) => !name.startsWith("an empty")),
  ["an array with a number", ["a@example.com", 7]],
  ["an array with a map", ["a@example.com", { address: "b@example.com" }]],
  ["an array with null", [null]],
  ["an address with a line break", "a@example.com\r\nBcc: victim@example.com"],
];

/** For fields that take a map. */
const NOT_MAPS: Array<[string, unknown]> = [
  ["a string", UNICODE],
  ["a number", 3],
  ["a boolean", false],
  ["an array", [{ subject: "s" }]],
];

function withField(path: string, value: unknown): Record<string, unknown> {
  return withFieldOn(structuredClone(VALID), path, value);
}

function withFieldOn(original: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const data = structuredClone(original);
  const keys = path.split(".");
  let target = data;
  for (const key of keys.slice(0, -1)) {
    if (typeof target[key] !== "object" || target[key] === null) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  target[keys[keys.length - 1]] = value;
  return data;
}

function handWritten(): MalformedCase[] {
  const many = (count: number, make: (i: number) => unknown) => Array.from({ length: count }, (_, i) => make(i));
  return [
    { name: "no message, template or sendGrid", data: { to: "a@example.com" } },
    { name: "no recipient at all", data: { message: VALID.message } },
    { name: "empty recipient lists", data: { to: [], cc: [], bcc: [], message: VALID.message } },
    { name: "only empty strings as recipients", data: { to: "", cc: [""], message: VALID.message } },
    { name: "uids without a users collection", data: { toUids: ["u1"], message: VALID.message } },
    { name: "1500 recipients", data: { ...VALID, to: many(1500, (i) => `u${i}@example.com`) } },
    { name: "1200 uids", data: { ...VALID, toUids: many(1200, (i) => `uid${i}`) } },
    { name: "150 attachments", data: withField("message.attachments", many(150, (i) => ({ filename: `f${i}.txt`, content: "x" }))) },
    { name: "a 2000-character template name", data: { ...VALID, template: { name: "t".repeat(2000) } } },
    { name: "a template without name", data: { ...VALID, template: { data: { a: 1 } } } },
    { name: "a template name that is a number", data: { ...VALID, template: { name: 5 } } },
    { name: "a template name with a slash", data: { ...VALID, template: { name: "a/b" } } },
    { name: "template data that is a string", data: { ...VALID, template: { name: "welcome", data: UNICODE } } },
    { name: "an attachment reading a local file", data: withField("message.attachments", [{ filename: "env", path: "/proc/self/environ" }]) },
    { name: "an attachment with a file: URL", data: withField("message.attachments", [{ path: "file:///etc/passwd" }]) },
    { name: "an attachment over plain http", data: withField("message.attachments", [{ href: "http://example.com/a.pdf" }]) },
    { name: "an attachment from the metadata server", data: withField("message.attachments", [{ path: "https://169.254.169.254/computeMetadata/v1/" }]) },
    { name: "an attachment from localhost", data: withField("message.attachments", [{ href: "https://localhost/secret" }]) },
    { name: "an attachment with neither content nor path", data: withField("message.attachments", [{ filename: "empty.txt" }]) },
    { name: "an attachment with an unknown encoding", data: withField("message.attachments", [{ content: "x", encoding: "rot13" }]) },
    { name: "an attachment disposition that is neither", data: withField("message.attachments", [{ content: "x", contentDisposition: "sideways" }]) },
    { name: "a header with a line break", data: { ...VALID, headers: { "X-Test": "a\r\nBcc: victim@example.com" } } },
    { name: "a header name with a space", data: { ...VALID, headers: { "X Bad Name": "v" } } },
    { name: "a header name in unicode", data: { ...VALID, headers: { [UNICODE]: "v" } } },
    { name: "a header value that is a map", data: { ...VALID, headers: { "X-Test": { prepared: true, value: "v" } } } },
    { name: "a message header with a number", data: withField("message.headers", { "X-Count": 3 }) },
    { name: "a priority that is not high, normal or low", data: withField("message.priority", "urgent") },
    { name: "a date that is not a date", data: withField("message.date", "next tuesday") },
    { name: "a messageId with a line break", data: withField("message.messageId", "<a@b>\r\nX: y") },
    { name: "references with a number", data: withField("message.references", ["<a@b>", 9]) },
    { name: "categories that are a string", data: { ...VALID, categories: "news" } },
    { name: "categories with a map", data: { ...VALID, categories: [{ a: 1 }] } },
    { name: "delivery that is a string", data: { ...VALID, delivery: "PENDING" } },
    { name: "delivery that is an array", data: { ...VALID, delivery: [{ state: "PENDING" }] } },
    { name: "an unknown delivery state", data: { ...VALID, delivery: { state: "SENDING" } } },
    { name: "a delivery state in unicode", data: { ...VALID, delivery: { state: UNICODE } } },
    { name: "a numeric delivery state", data: { ...VALID, delivery: { state: 1 } } },
    { name: "sendAt as a string", data: { ...VALID, sendAt: "2030-01-01T00:00:00Z" } },
    { name: "sendAt as a number", data: { ...VALID, sendAt: 1893456000000 } },
    { name: "sendAt as a map", data: { ...VALID, sendAt: { seconds: 1893456000, nanoseconds: 0 } } },
    { name: "dsn that is a string", data: { ...VALID, dsn: "failure" } },
    { name: "dsn notify never with failure", data: { ...VALID, dsn: { notify: ["never", "failure"] } } },
    { name: "a dsn envid with a line break", data: { ...VALID, dsn: { envid: "id\r\nRCPT TO:<victim@example.com>" } } },
    { name: "a dsn with an unknown key", data: { ...VALID, dsn: { notify: ["failure"], orcpt: "rfc822;a@example.com" } } },
  ];
}

interface FieldFault {
  name: string;
  path: string;
  value: unknown;
}

function fieldFaults(): FieldFault[] {
  const faults: FieldFault[] = [];
  const add = (path: string, list: Array<[string, unknown]>) => {
    for (const [what, value] of list) faults.push({ name: `${path} is ${what}`, path, value });
  };
  for (const field of ["to", "cc", "bcc"]) add(field, NOT_ADDRESS_LISTS);
  for (const field of ["toUids", "ccUids", "bccUids"]) {
    add(field, [...NOT_STRINGS, ["a string", "uid1"], ["an array with a number", ["u1", 2]]]);
  }
  for (const field of ["from", "replyTo", "message.subject", "message.text", "message.html", "message.amp", "message.inReplyTo", "message.messageId"]) {
    add(field, NOT_STRINGS);
  }
  for (const field of ["message", "headers", "message.headers", "template", "sendGrid"]) add(field, NOT_MAPS);
  add("message.attachments", [...NOT_MAPS.filter(([n]) => n !== "an array"), ["an array of strings", ["a.txt"]]]);
  for (const key of ["filename", "contentType", "cid"]) {
    for (const [what, value] of NOT_STRINGS.slice(0, 4)) {
      faults.push({ name: `attachment ${key} is ${what}`, path: "message.attachments", value: [{ content: "x", [key]: value }] });
    }
  }
  return faults;
}

function apply(faults: FieldFault[]): Record<string, unknown> {
  let data: Record<string, unknown> = structuredClone(VALID);
  for (const fault of faults) data = withFieldOn(data, fault.path, fault.value);
  return data;
}

/** At least `minimum` malformed documents. */
export function malformedDocuments(minimum: number): MalformedCase[] {
  const faults = fieldFaults();
  const cases = [...handWritten(), ...faults.map((fault) => ({ name: fault.name, data: apply([fault]) }))];
  // Two faults at once, on fields that do not contain each other, until there are enough.
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  for (let i = 0; cases.length < minimum; i++) {
    const a = faults[(i * 7) % faults.length];
    const b = faults[(i * 13 + 5) % faults.length];
    if (related(a.path, b.path)) continue;
    cases.push({ name: `${a.name} + ${b.name}`, data: apply([a, b]) });
  }
  return cases;
}
