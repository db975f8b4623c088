/**
 * Who a mail with `separateMessages` sends to next, and what its recipients' entries make of the mail:
 * the rules that keep every recipient to one accepted message across attempts, retries and crashes.
 */
import { markInFlight, mostAttempts, readProgress, recipientsToSend, settle, summarize, type RecipientProgress } from "../../../src/delivery/recipient-progress";

const KEYS = ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"];
const progress: RecipientProgress = {
  "a@x.io": { state: "SUCCESS", attempts: 1, messageId: "<1@x>" },
  "b@x.io": { state: "ERROR", attempts: 1, error: "550 no such user" },
  "c@x.io": { state: "UNKNOWN", attempts: 1 },
  "d@x.io": { state: "PENDING", attempts: 1, error: "451 busy" },
};

describe("recipientsToSend", () => {
  test("an attempt sends to recipients without an entry and to those waiting for a retry, in the mail's order", () => {
    expect(recipientsToSend(KEYS, progress, false)).toEqual(["d@x.io", "e@x.io"]);
  });

  test("a person's RETRY also sends to those that failed, never to accepted or unknown ones", () => {
    expect(recipientsToSend(KEYS, progress, true)).toEqual(["b@x.io", "d@x.io", "e@x.io"]);
  });

  test("a first attempt sends to everyone", () => {
    expect(recipientsToSend(KEYS, {}, false)).toEqual(KEYS);
  });
});

describe("markInFlight and settle", () => {
  test("a batch is recorded UNKNOWN with its send counted before it goes out; the rest is untouched", () => {
    const next = markInFlight(progress, ["d@x.io", "e@x.io"]);
    expect(next["d@x.io"]).toEqual({ state: "UNKNOWN", attempts: 2 });
    expect(next["e@x.io"]).toEqual({ state: "UNKNOWN", attempts: 1 });
    expect(next["a@x.io"]).toBe(progress["a@x.io"]);
    expect(progress["d@x.io"].state).toBe("PENDING");
  });

  test("an accepted send is SUCCESS with its message id", () => {
    expect(settle({ state: "UNKNOWN", attempts: 1 }, { accepted: true, messageId: "<m@x>" }, 1)).toEqual({ state: "SUCCESS", attempts: 1, messageId: "<m@x>" });
  });

  test("a temporary failure is PENDING while MAX_ATTEMPTS allows, then ERROR", () => {
    const failure = { accepted: false as const, error: "451 busy", transient: true, unknown: false };
    expect(settle({ state: "UNKNOWN", attempts: 1 }, failure, 2)).toEqual({ state: "PENDING", attempts: 1, error: "451 busy" });
    expect(settle({ state: "UNKNOWN", attempts: 2 }, failure, 2)).toEqual({ state: "ERROR", attempts: 2, error: "451 busy" });
    expect(settle({ state: "UNKNOWN", attempts: 1 }, failure, 1).state).toBe("ERROR");
  });

  test("a permanent failure is ERROR at once; an unknown outcome stays UNKNOWN", () => {
    expect(settle({ state: "UNKNOWN", attempts: 1 }, { accepted: false, error: "550", transient: false, unknown: false }, 5).state).toBe("ERROR");
    expect(settle({ state: "UNKNOWN", attempts: 1 }, { accepted: false, error: "no answer", transient: false, unknown: true }, 5)).toEqual({ state: "UNKNOWN", attempts: 1, error: "no answer" });
  });

  test("a long error or message id is cut, so that each entry stays small", () => {
    const entry = settle({ state: "UNKNOWN", attempts: 1 }, { accepted: false, error: "é".repeat(2_000), transient: false, unknown: false }, 1);
    expect(Buffer.byteLength(entry.error ?? "")).toBeLessThanOrEqual(500);
    expect(entry.error?.endsWith("…")).toBe(true);
  });
});

describe("summarize", () => {
  test("recipients not reached or retrying keep the mail PENDING", () => {
    const summary = summarize(KEYS, progress);
    expect(summary).toMatchObject({ state: "PENDING", accepted: ["a@x.io"], rejected: ["b@x.io"], unknown: ["c@x.io"], retrying: ["d@x.io"], notReached: ["e@x.io"] });
  });

  test("once every recipient is final, SUCCESS if any accepted", () => {
    const done = { ...progress, "d@x.io": { state: "SUCCESS" as const, attempts: 2 }, "e@x.io": { state: "ERROR" as const, attempts: 1 } };
    expect(summarize(KEYS, done).state).toBe("SUCCESS");
  });

  test("ERROR when none accepted, refused or unknown", () => {
    expect(summarize(["b@x.io", "c@x.io"], progress).state).toBe("ERROR");
  });

  test("only the mail's current recipients count: an entry of an address removed from `to` is ignored", () => {
    expect(summarize(["a@x.io"], progress)).toMatchObject({ state: "SUCCESS", rejected: [], unknown: [] });
  });

  test("the backoff follows the retrying recipient with the most sends", () => {
    expect(mostAttempts({ ...progress, "e@x.io": { state: "PENDING", attempts: 3 } }, ["d@x.io", "e@x.io"])).toBe(3);
    expect(mostAttempts({}, [])).toBe(1);
  });
});

describe("readProgress", () => {
  test("reads the map as written, dropping entries that are not entries", () => {
    const read = readProgress({ recipients: { ...progress, "x@x.io": "SUCCESS", "y@x.io": { state: "DONE" }, "z@x.io": { state: "SUCCESS", attempts: -1 } } });
    expect(read).toEqual({ ...progress, "z@x.io": { state: "SUCCESS", attempts: 0 } });
  });

  test("a delivery without a map, or with something else, has no entries", () => {
    expect(readProgress(undefined)).toEqual({});
    expect(readProgress({ state: "PENDING" })).toEqual({});
    expect(readProgress({ recipients: ["a@x.io"] })).toEqual({});
  });

  test("a key spelt __proto__ stays an entry and changes no prototype", () => {
    const raw = JSON.parse('{"recipients": {"__proto__": {"state": "SUCCESS", "attempts": 1}}}');
    const read = readProgress(raw);
    expect(Object.keys(read)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(recipientsToSend(["__proto__"], read, true)).toEqual([]);
  });
});
