import { createHash } from "node:crypto";
import { canonicalJson, sha256Hex } from "../../../src/archive/canonical-json";

describe("canonicalJson", () => {
  it("sorts keys at every level and writes no white space", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: "x" }], c: true } })).toBe('{"a":{"c":true,"d":[3,{"y":"x","z":null}]},"b":1}');
  });

  it("gives the same text whatever order the keys were written in, as a Firestore read returns them", () => {
    const written = { subject: "Hi", to: ["a@example.com"], headers: [{ name: "X-A", value: "1" }] };
    const readBack = { headers: [{ value: "1", name: "X-A" }], to: ["a@example.com"], subject: "Hi" };
    expect(canonicalJson(readBack)).toBe(canonicalJson(written));
  });

  it("keeps array order: it is the message's (recipients, headers, attachments)", () => {
    expect(canonicalJson(["b", "a"])).not.toBe(canonicalJson(["a", "b"]));
  });

  it("sorts by UTF-16 code units, as RFC 8785 does (upper case before lower, astral characters by their surrogates)", () => {
    expect(canonicalJson({ b: 0, a: 0, B: 0, "\u00e9": 0, "\ud83d\ude00": 0, "\uffff": 0 })).toBe('{"B":0,"a":0,"b":0,"é":0,"😀":0,"\uffff":0}');
  });

  it("escapes strings as JSON does: quotes, backslashes, control characters; other characters as they are", () => {
    expect(canonicalJson('a"b\\c\n\u0001é')).toBe('"a\\"b\\\\c\\n\\u0001é"');
  });

  it("leaves out keys whose value is undefined, as Firestore stores nothing for them", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it.each([[1.5], [NaN], [Number.MAX_SAFE_INTEGER + 1]])("refuses the number %p, which has no single form here", (value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it("refuses values that are not JSON (a Buffer, a Date)", () => {
    expect(() => canonicalJson({ content: Buffer.from("x") } as never)).toThrow(TypeError);
    expect(() => canonicalJson({ at: new Date(0) } as never)).toThrow(TypeError);
  });
});

describe("sha256Hex", () => {
  it("is the SHA-256 of the UTF-8 bytes, in lower-case hex", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("é")).toBe(createHash("sha256").update(Buffer.from([0xc3, 0xa9])).digest("hex"));
    expect(sha256Hex(Buffer.from([1, 2, 3]))).toBe(createHash("sha256").update(Buffer.from([1, 2, 3])).digest("hex"));
  });
});
