/**
 * The outcome a mail with `separateMessages` records from its recipients' entries, and when a batch may start.
 */
import { Timestamp } from "firebase-admin/firestore";
import { separateOutcome, type SeparateResult } from "../../../src/delivery/send-separately";
import { summarize, type RecipientProgress } from "../../../src/delivery/recipient-progress";
import { OUTCOME_UNKNOWN_NOTE } from "../../../src/providers/shared/unknown-outcome";
import { batchFits, LEASE_MS, MIN_SEND_MS, OUTCOME_MARGIN_MS, SEND_DEADLINE_MS } from "../../../src/shared/budget";

const NOW = 1_800_000_000_000;
const VERSION = Timestamp.fromMillis(NOW - 1000);
const settings = { retryBackoffSeconds: 60 };

function resultOf(keys: string[], progress: RecipientProgress): SeparateResult {
  return { keys, progress, summary: summarize(keys, progress), version: VERSION };
}

test("all accepted: SUCCESS, delivery.info lists them, and every patch carries the recipients' map and the last checkpoint's version", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "SUCCESS", attempts: 2 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome).toMatchObject({ state: "SUCCESS", error: null, unknown: false, version: VERSION, extra: { "delivery.recipients": progress } });
  expect(outcome.info).toMatchObject({ messageId: null, accepted: ["a@x.io", "b@x.io"], rejected: [], pending: [] });
});

test("some accepted, the others refused for good: SUCCESS, the refused ones in delivery.info.rejected", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "ERROR", attempts: 1, error: "550" } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("SUCCESS");
  expect(outcome.info).toMatchObject({ accepted: ["a@x.io"], rejected: ["b@x.io"] });
});

test("temporary failures with attempts left: PENDING after the backoff, the error saying how many", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "PENDING", attempts: 1, error: "451 busy" } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("PENDING");
  expect(outcome.error).toContain("Not finished: 1 of 2 recipients failed temporarily");
  expect(outcome.error).toContain("451 busy");
  const due = (outcome.patch["delivery.nextAttemptTime"] as Timestamp).toMillis();
  expect(due - NOW).toBeGreaterThanOrEqual(48_000);
  expect(due - NOW).toBeLessThanOrEqual(72_000);
});

test("recipients not reached within the lease: PENDING and due at once", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("PENDING");
  expect(outcome.error).toContain("1 of 2 recipients were not reached");
  expect((outcome.patch["delivery.nextAttemptTime"] as Timestamp).toMillis()).toBe(NOW);
});

test("none accepted: ERROR, saying when the provider may have some", () => {
  const refused: RecipientProgress = { "a@x.io": { state: "ERROR", attempts: 1, error: "550 no" } };
  expect(separateOutcome(resultOf(["a@x.io"], refused), settings, NOW)).toMatchObject({ state: "ERROR", unknown: false });
  const unknown = { ...refused, "b@x.io": { state: "UNKNOWN" as const, attempts: 1 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], unknown), settings, NOW);
  expect(outcome).toMatchObject({ state: "ERROR", unknown: true });
  expect(outcome.error).toContain(OUTCOME_UNKNOWN_NOTE);
});

describe("batchFits", () => {
  const leaseEnds = NOW + LEASE_MS;
  test("the first batch starts as a single mail's send would", () => {
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - MIN_SEND_MS, true)).toBe(true);
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - MIN_SEND_MS + 1, true)).toBe(false);
  });

  test("a later batch only while each send can have its whole deadline", () => {
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - SEND_DEADLINE_MS, false)).toBe(true);
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - SEND_DEADLINE_MS + 1, false)).toBe(false);
  });
});
