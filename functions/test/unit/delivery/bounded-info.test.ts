import { boundedInfo, firestoreBytes, INFO_LIMITS, minimalInfo } from "../../../src/delivery/bounded-info";
import type { DeliveryInfo } from "../../../src/shared/types";

const addresses = (n: number, domain = "example.com") => Array.from({ length: n }, (_, i) => `user${i}@${domain}`);

function info(fields: Partial<DeliveryInfo> = {}): DeliveryInfo {
  return { messageId: "<id@example.com>", accepted: ["a@example.com"], rejected: [], pending: [], response: "250 2.0.0 OK queued", ...fields };
}

/** What Firestore counts for an info map's values (field names aside). */
function bytesOf(value: unknown): number {
  if (typeof value === "string") return firestoreBytes(value);
  if (Array.isArray(value)) return value.reduce((sum: number, entry) => sum + bytesOf(entry), 0);
  if (value && typeof value === "object") return Object.entries(value).reduce((sum, [name, entry]) => sum + firestoreBytes(name) + bytesOf(entry), 0);
  return 8;
}

const listBytes = (lists: string[][]) => lists.flat().reduce((sum, entry) => sum + firestoreBytes(entry), 0);

describe("delivery.info bounded to fit the mail document", () => {
  test("an info within the limits is recorded as the provider returned it", () => {
    const small = info({ accepted: addresses(100), rejected: ["x@example.com"], suppressed: ["s@example.com"] });
    expect(boundedInfo(small)).toBe(small);
  });

  test("1,000 accepted addresses keep their first ones within the limit, with full counts and the marker", () => {
    const bounded = boundedInfo(info({ accepted: addresses(1000) }));
    expect(bounded.truncated).toBe(true);
    expect(bounded.counts).toEqual({ accepted: 1000, rejected: 0, pending: 0 });
    expect(bounded.accepted).toEqual(addresses(1000).slice(0, bounded.accepted.length));
    expect(listBytes([bounded.accepted])).toBeLessThanOrEqual(INFO_LIMITS.addresses);
    // Filled, not just cut short: the next address would not have fitted.
    expect(listBytes([addresses(1000).slice(0, bounded.accepted.length + 1)])).toBeGreaterThan(INFO_LIMITS.addresses);
    expect(bounded.messageId).toBe("<id@example.com>");
    expect(bounded.response).toBe("250 2.0.0 OK queued");
  });

  test("a short list is kept whole beside a long one", () => {
    const bounded = boundedInfo(info({ accepted: addresses(1000), rejected: addresses(3, "gone.example"), suppressed: addresses(2, "opted-out.example") }));
    expect(bounded.rejected).toEqual(addresses(3, "gone.example"));
    expect(bounded.suppressed).toEqual(addresses(2, "opted-out.example"));
    expect(bounded.counts).toEqual({ accepted: 1000, rejected: 3, pending: 0, suppressed: 2 });
    expect(listBytes([bounded.accepted, bounded.rejected, bounded.pending, bounded.suppressed ?? []])).toBeLessThanOrEqual(INFO_LIMITS.addresses);
  });

  test("a long response and message id end with … within their limits, cut on a character boundary", () => {
    const response = `250 ${"é".repeat(5000)}`;
    const messageId = `<${"ü".repeat(2000)}@example.com>`;
    const bounded = boundedInfo(info({ response, messageId }));
    expect(bounded.truncated).toBe(true);
    expect(bounded.response?.endsWith("é…")).toBe(true);
    expect(firestoreBytes(bounded.response ?? "")).toBeLessThanOrEqual(INFO_LIMITS.response);
    expect(firestoreBytes(bounded.response ?? "")).toBeGreaterThan(INFO_LIMITS.response - 4);
    expect(bounded.messageId?.endsWith("ü…")).toBe(true);
    expect(firestoreBytes(bounded.messageId ?? "")).toBeLessThanOrEqual(INFO_LIMITS.id);
    expect(bounded.counts).toEqual({ accepted: 1, rejected: 0, pending: 0 });
  });

  test("the worst case (1,000 addresses of 254 bytes in every list, long texts) stays under 20 KiB", () => {
    const long = (tag: string) => Array.from({ length: 1000 }, (_, i) => `${tag}${i}@${"d".repeat(240)}.example`.slice(-254));
    const bounded = boundedInfo({
      messageId: "m".repeat(10_000),
      accepted: long("a"),
      rejected: long("r"),
      pending: long("p"),
      suppressed: long("s"),
      response: "r".repeat(100_000),
      sendgridQueueId: "q".repeat(10_000),
    });
    expect(bytesOf(bounded)).toBeLessThan(20 * 1024);
  });

  test("the minimal info keeps ids, the reply's start and the counts of the original lists", () => {
    const original = info({ accepted: addresses(1000), rejected: ["x@example.com"], response: "250 " + "x".repeat(1000), sendgridQueueId: "q1" });
    const minimal = minimalInfo(boundedInfo(original));
    expect(minimal).toEqual({
      messageId: "<id@example.com>",
      accepted: [],
      rejected: [],
      pending: [],
      response: expect.stringMatching(/^250 x+…$/),
      sendgridQueueId: "q1",
      truncated: true,
      counts: { accepted: 1000, rejected: 1, pending: 0 },
    });
    expect(firestoreBytes(minimal.response ?? "")).toBeLessThanOrEqual(INFO_LIMITS.minimalResponse);
    expect(minimalInfo(original).counts).toEqual({ accepted: 1000, rejected: 1, pending: 0 });
  });

  test("the minimal info keeps the archive's reference: the archive was written, and the reference is small", () => {
    const archive = { sha256: "a".repeat(64), path: "mail/m1/archive/attempt1" };
    expect(minimalInfo(info({ accepted: addresses(1000), archive })).archive).toEqual(archive);
    expect(minimalInfo(info({})).archive).toBeUndefined();
  });
});
