import { FieldValue, Timestamp } from "firebase-admin/firestore";
import { failurePatch, MAX_BACKOFF_MS, retryDelayMs } from "../../../src/delivery/retry-policy";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const retries = { maxAttempts: 3, retryBackoffSeconds: 60 };
const noRetries = { maxAttempts: 1, retryBackoffSeconds: 60 };

describe("retry backoff", () => {
  test.each([
    [1, 60_000],
    [2, 120_000],
    [3, 240_000],
    [6, 1_920_000],
  ])("after attempt %i the delay is about %i ms", (attempt, expected) => {
    expect(retryDelayMs(attempt, 60, () => 0.5)).toBe(expected);
  });

  test("jitter stays within ±20%", () => {
    expect(retryDelayMs(1, 60, () => 0)).toBe(48_000);
    expect(retryDelayMs(1, 60, () => 0.999999)).toBeLessThanOrEqual(72_000);
    expect(retryDelayMs(1, 60, () => 0.999999)).toBeGreaterThan(71_000);
  });

  test("delays are capped at one hour", () => {
    expect(retryDelayMs(10, 3600, () => 1)).toBe(MAX_BACKOFF_MS);
    expect(retryDelayMs(30, 60, () => 0.5)).toBe(MAX_BACKOFF_MS);
  });
});

describe("what a failed attempt records", () => {
  test("without automatic retries (the default) every failure is final", () => {
    const { state, patch } = failurePatch(noRetries, "451 busy", true, 0, NOW);
    expect(state).toBe("ERROR");
    expect(patch["delivery.error"]).toBe("451 busy");
  });

  test("a transient failure with attempts left waits in PENDING, says why and when", () => {
    const { state, patch } = failurePatch(retries, "451 busy", true, 0, NOW);
    expect(state).toBe("PENDING");
    expect(patch["delivery.state"]).toBe("PENDING");
    expect(patch["delivery.error"]).toBe("451 busy");
    expect(patch["delivery.attempts"]).toEqual(FieldValue.increment(1));
    const due = (patch["delivery.nextAttemptTime"] as Timestamp).toMillis();
    expect(due - NOW).toBeGreaterThanOrEqual(48_000);
    expect(due - NOW).toBeLessThanOrEqual(72_000);
  });

  test("a permanent failure is final at once", () => {
    expect(failurePatch(retries, "550 no such user", false, 0, NOW).state).toBe("ERROR");
  });

  test("the last allowed attempt is final even when transient", () => {
    expect(failurePatch(retries, "451 busy", true, 1, NOW).state).toBe("PENDING");
    expect(failurePatch(retries, "451 busy", true, 2, NOW).state).toBe("ERROR");
  });

});
