import { Timestamp } from "firebase-admin/firestore";
import { decide, type Decision } from "../../../src/delivery/decide";
import { expiryPatch } from "../../../src/delivery/patches";
import { LEASE_GRACE_MS, LEASE_MS, SEND_DEADLINE_MS } from "../../../src/shared/budget";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const message = { subject: "Hi", text: "Hello" };
const doc = (delivery?: unknown): Record<string, unknown> =>
  delivery === undefined ? { to: "a@example.com", message } : { to: "a@example.com", message, delivery };

describe("decide: what an event's document calls for", () => {
  const table: Array<[string, Record<string, unknown> | undefined, Decision]> = [
    ["a deleted document", undefined, { action: "ignore", reason: "deleted" }],
    ["a new document without delivery", doc(), { action: "initialize" }],
    ["delivery: null", doc(null), { action: "initialize" }],
    ["a delivery map without state", doc({ attempts: 3 }), { action: "initialize" }],
    ["PENDING", doc({ state: "PENDING" }), { action: "claim", retry: false }],
    ["RETRY", doc({ state: "RETRY", attempts: 1 }), { action: "claim", retry: true }],
    ["SUCCESS", doc({ state: "SUCCESS" }), { action: "ignore", reason: "finished" }],
    ["ERROR", doc({ state: "ERROR" }), { action: "ignore", reason: "finished" }],
    [
      "PROCESSING under a live lease",
      doc({ state: "PROCESSING", leaseExpireTime: Timestamp.fromMillis(NOW + 1) }),
      { action: "ignore", reason: "leased" },
    ],
    [
      "PROCESSING whose lease ended but whose outcome write may still land (grace)",
      doc({ state: "PROCESSING", leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS + 1) }),
      { action: "ignore", reason: "leased" },
    ],
    [
      "PROCESSING whose lease and grace end now",
      doc({ state: "PROCESSING", leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS) }),
      { action: "expire", requested: false },
    ],
    ["PROCESSING without a lease", doc({ state: "PROCESSING" }), { action: "expire", requested: false }],
    ["PROCESSING with a lease that is not a timestamp", doc({ state: "PROCESSING", leaseExpireTime: "soon" }), { action: "expire", requested: false }],
    [
      "RETRY written by a person over a live attempt waits for that attempt's outcome",
      doc({ state: "RETRY", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW + 30_000) }),
      { action: "ignore", reason: "leased" },
    ],
    [
      "PENDING written by a person over a live attempt waits too",
      doc({ state: "PENDING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW + 30_000) }),
      { action: "ignore", reason: "leased" },
    ],
    [
      "RETRY over an attempt that died: the attempt ends, the request is declined",
      doc({ state: "RETRY", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS - 1) }),
      { action: "expire", requested: true },
    ],
    ["RETRY after an outcome (no lease) claims at once", doc({ state: "RETRY", attempts: 1, leaseExpireTime: null }), { action: "claim", retry: true }],
    [
      "an unknown state",
      doc({ state: "SENDING" }),
      {
        action: "fail",
        error: "Unknown delivery state 'SENDING'. Expected PENDING, PROCESSING, SUCCESS, ERROR or RETRY.",
        replaceDelivery: false,
      },
    ],
    [
      "a lower-case state",
      doc({ state: "retry" }),
      {
        action: "fail",
        error: "Unknown delivery state 'retry'. Expected PENDING, PROCESSING, SUCCESS, ERROR or RETRY.",
        replaceDelivery: false,
      },
    ],
    [
      "a numeric state",
      doc({ state: 3 }),
      {
        action: "fail",
        error: "Unknown delivery state of type number. Expected PENDING, PROCESSING, SUCCESS, ERROR or RETRY.",
        replaceDelivery: false,
      },
    ],
    [
      "delivery that is a string",
      doc("SUCCESS"),
      { action: "fail", error: 'Invalid field "delivery". Expected a map with a "state" field.', replaceDelivery: true },
    ],
    [
      "delivery that is an array",
      doc(["PENDING"]),
      { action: "fail", error: 'Invalid field "delivery". Expected a map with a "state" field.', replaceDelivery: true },
    ],
  ];

  test.each(table)("%s", (_name, data, expected) => {
    expect(decide(data, NOW)).toEqual(expected);
  });

  test("a very long unknown state is shortened in the error", () => {
    const decision = decide(doc({ state: "X".repeat(5000) }), NOW);
    expect(decision.action).toBe("fail");
    expect((decision as { error: string }).error.length).toBeLessThan(200);
  });
});

describe("lease timing", () => {
  test("the lease outlives the worst-case send with room for the claim and outcome writes", () => {
    expect(LEASE_MS - SEND_DEADLINE_MS).toBeGreaterThanOrEqual(15_000);
  });

  test("the echo of the extension's own first write is left to the invocation that made it", () => {
    const pending = doc({ state: "PENDING", attempts: 0, attemptId: "a".repeat(22), nextAttemptTime: Timestamp.fromMillis(NOW + 120_000) });
    expect(decide(pending, NOW, doc())).toEqual({ action: "ignore", reason: "initialized" });
    // The same PENDING written by a client at creation is claimed.
    expect(decide(doc({ state: "PENDING" }), NOW, undefined)).toEqual({ action: "claim", retry: false });
  });

  test("a mail whose lease ended is expired, and ends with the original's text in delivery.error", () => {
    expect(decide(doc({ state: "PROCESSING", attempts: 0 }), NOW)).toEqual({ action: "expire", requested: false });
    expect(expiryPatch(false)).toMatchObject({ "delivery.state": "ERROR", "delivery.error": "Message processing lease expired." });
  });
});

describe("decide: waiting, sendAt and retries", () => {
  const at = (ms: number) => Timestamp.fromMillis(ms);
  const table: Array<[string, Record<string, unknown>, Decision]> = [
    ["a new document with sendAt ahead waits", { ...doc(), sendAt: at(NOW + 3_600_000) }, { action: "initialize", dueAt: NOW + 3_600_000 }],
    ["a new document with sendAt past sends now", { ...doc(), sendAt: at(NOW - 1) }, { action: "initialize" }],
    ["a new document with a sendAt that is not a timestamp is left to validation", { ...doc(), sendAt: "tomorrow" }, { action: "initialize" }],
    [
      "PENDING waiting for its sendAt",
      { ...doc({ state: "PENDING", attempts: 0, nextAttemptTime: at(NOW + 5000) }), sendAt: at(NOW + 5000) },
      { action: "ignore", reason: "waiting" },
    ],
    [
      "PENDING whose sendAt was moved later",
      { ...doc({ state: "PENDING", attempts: 0, nextAttemptTime: at(NOW + 5000) }), sendAt: at(NOW + 9000) },
      { action: "schedule", dueAt: NOW + 9000 },
    ],
    [
      "PENDING whose sendAt was brought into the past",
      { ...doc({ state: "PENDING", attempts: 0, nextAttemptTime: at(NOW + 5000) }), sendAt: at(NOW - 1) },
      { action: "claim", retry: false },
    ],
    [
      "PENDING waiting for a retry backoff",
      doc({ state: "PENDING", attempts: 1, nextAttemptTime: at(NOW + 60_000) }),
      { action: "ignore", reason: "waiting" },
    ],
    [
      "PENDING whose retry is due",
      doc({ state: "PENDING", attempts: 1, nextAttemptTime: at(NOW) }),
      { action: "claim", retry: false },
    ],
    [
      "PENDING released by the sweep (nextAttemptTime null) is sent, whatever sendAt says",
      { ...doc({ state: "PENDING", attempts: 0, nextAttemptTime: null }), sendAt: at(NOW + 5000) },
      { action: "claim", retry: false },
    ],
    [
      "an attempted mail ignores its old sendAt",
      { ...doc({ state: "PENDING", attempts: 1 }), sendAt: at(NOW + 60_000) },
      { action: "claim", retry: false },
    ],
    [
      "RETRY acts at once, whatever the backoff says",
      doc({ state: "RETRY", attempts: 1, nextAttemptTime: at(NOW + 60_000) }),
      { action: "claim", retry: true },
    ],
  ];

  test.each(table)("%s", (_name, data, expected) => {
    expect(decide(data, NOW)).toEqual(expected);
  });
});

describe("decide: a lease runs at least its length from the version that carries it", () => {
  const lease = Timestamp.fromMillis(NOW - LEASE_MS - LEASE_GRACE_MS - 1);
  const late = doc({ state: "PROCESSING", attempts: 0, leaseExpireTime: lease });

  test("a claim that landed just now with a lease counted from long before is live", () => {
    expect(decide(late, NOW, undefined, NOW - 1000)).toEqual({ action: "ignore", reason: "leased" });
  });

  test("it is expired a lease and the grace after it landed", () => {
    expect(decide(late, NOW, undefined, NOW - LEASE_MS - LEASE_GRACE_MS)).toEqual({ action: "expire", requested: false });
  });

  test("without a version time the written lease alone counts", () => {
    expect(decide(late, NOW)).toEqual({ action: "expire", requested: false });
  });
});
