import { isStreamName, suppressesStream } from "../../../src/suppression/streams";

describe("suppressesStream: which mail a suppression document stops", () => {
  const at = { time: "2026-12-01" };
  it.each<[string, Record<string, unknown>, string | undefined, boolean]>([
    // Documents from before streams, and anything a person wrote without `streams`, stop every stream.
    ["an old document, mail without a stream", { reason: "unsubscribed" }, undefined, true],
    ["an old document, transactional mail", { reason: "unsubscribed" }, "transactional", true],
    ["an old document, newsletter mail", { reason: "complained" }, "newsletter", true],
    ["an empty document written by hand", {}, "transactional", true],
    ["a document for every stream that also lists a stream", { reason: "bounced", streams: { newsletter: at } }, "transactional", true],
    ["a streams field that is not a map", { streams: "newsletter" }, "transactional", true],
    // Per-stream documents: `streams` and no top-level reason.
    ["newsletter entry, newsletter mail", { streams: { newsletter: at } }, "newsletter", true],
    ["newsletter entry, transactional mail", { streams: { newsletter: at } }, "transactional", false],
    ["two entries, the second one's mail", { streams: { newsletter: at, offers: at } }, "offers", true],
    ["a lifted entry (null), its mail", { streams: { newsletter: null } }, "newsletter", false],
    ["an entry written by hand as true", { streams: { newsletter: true } }, "newsletter", true],
    ["an entry written by hand as false", { streams: { newsletter: false } }, "newsletter", false],
    // A mail without a stream is stopped by any suppression of the address, as before streams.
    ["newsletter entry, mail without a stream", { streams: { newsletter: at } }, undefined, true],
    ["every entry lifted, mail without a stream", { streams: {} }, undefined, false],
    ["a key inherited from Object.prototype is no entry", { streams: {} }, "constructor", false],
  ])("%s → %p", (_label, data, stream, expected) => {
    expect(suppressesStream(data, stream)).toBe(expected);
  });
});

describe("isStreamName", () => {
  it("takes short lower-case names that are plain field names", () => {
    expect(["transactional", "newsletter", "a-b_c", "9"].every(isStreamName)).toBe(true);
    expect(["", "A", "_x", "a.b", "a/b", "*", "x".repeat(64), 1, null].some(isStreamName)).toBe(false);
  });
});
