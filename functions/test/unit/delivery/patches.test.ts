import { FieldValue, Timestamp } from "firebase-admin/firestore";
import {
  claimPatch,
  errorPatch,
  expiryPatch,
  honouredRetryPatch,
  newDocumentErrorPatch,
  pendingPatch,
  successPatch,
} from "../../../src/delivery/patches";
import { CLAIM_WATCH_MS, LEASE_MS } from "../../../src/shared/budget";
import { LEASE_EXPIRED_ERROR } from "../../../src/delivery/delivery-field";

const ID = "attempt-id-of-22-chars";

const NOW = Date.UTC(2026, 0, 31, 9, 30, 0);

describe("delivery patches", () => {
  test("a new document starts PENDING with no attempt and no error, the attempt about to claim it, and a time the sweep looks at it", () => {
    expect(pendingPatch(NOW, ID)).toEqual({
      delivery: {
        state: "PENDING",
        startTime: Timestamp.fromMillis(NOW),
        attempts: 0,
        error: null,
        attemptId: ID,
        nextAttemptTime: Timestamp.fromMillis(NOW + CLAIM_WATCH_MS),
      },
    });
  });

  test("a scheduled mail's PENDING waits for its sendAt", () => {
    expect((pendingPatch(NOW, ID, undefined, NOW + 5_000).delivery as Record<string, unknown>).nextAttemptTime).toEqual(Timestamp.fromMillis(NOW + 5_000));
  });

  test("expireAt is written with the first delivery when given", () => {
    const expireAt = Timestamp.fromMillis(NOW + 3_600_000);
    expect((pendingPatch(NOW, ID, expireAt).delivery as Record<string, unknown>).expireAt).toBe(expireAt);
  });

  test("a claim moves to PROCESSING under its attempt id with a lease LEASE_MS ahead", () => {
    const { patch, lease } = claimPatch(NOW, ID);
    expect(lease.toMillis()).toBe(NOW + LEASE_MS);
    expect(patch).toEqual({
      "delivery.state": "PROCESSING",
      "delivery.startTime": Timestamp.fromMillis(NOW),
      "delivery.leaseExpireTime": lease,
      "delivery.attemptId": ID,
      "delivery.nextAttemptTime": FieldValue.delete(),
      "delivery.retryRequest": FieldValue.delete(),
    });
  });

  test("a dead attempt ends in ERROR with the original's text, never a retry; a request made during it is declined", () => {
    expect(expiryPatch(false)["delivery.state"]).toBe("ERROR");
    expect(expiryPatch(false)["delivery.error"]).toBe(LEASE_EXPIRED_ERROR);
    expect(expiryPatch(false)["delivery.retryRequest"]).toBeUndefined();
    expect((expiryPatch(true)["delivery.retryRequest"] as { answer: string }).answer).toBe("declined");
  });

  test("a failed attempt with a person's request honoured is due again at once", () => {
    const patch = honouredRetryPatch("refused", NOW);
    expect(patch["delivery.state"]).toBe("PENDING");
    expect(patch["delivery.nextAttemptTime"]).toEqual(Timestamp.fromMillis(NOW));
    expect((patch["delivery.retryRequest"] as { answer: string }).answer).toBe("honoured");
  });

  test("success counts the attempt, clears lease and error, records info", () => {
    const info = { messageId: "<m@x>", accepted: ["a@x.com"], rejected: [], pending: [], response: "250 OK" };
    const patch = successPatch(info);
    expect(patch["delivery.state"]).toBe("SUCCESS");
    expect(patch["delivery.info"]).toEqual(info);
    expect(patch["delivery.error"]).toBeNull();
    expect(patch["delivery.leaseExpireTime"]).toBeNull();
    expect(patch["delivery.attempts"]).toEqual(FieldValue.increment(1));
    expect(patch["delivery.endTime"]).toEqual(FieldValue.serverTimestamp());
  });

  test("a failed attempt removes stale info and counts the attempt", () => {
    const patch = errorPatch("boom", true);
    expect(patch["delivery.state"]).toBe("ERROR");
    expect(patch["delivery.error"]).toBe("boom");
    expect(patch["delivery.info"]).toEqual(FieldValue.delete());
    expect(patch["delivery.attempts"]).toEqual(FieldValue.increment(1));
  });

  test("a failure that was not an attempt leaves attempts alone", () => {
    expect(errorPatch("Message processing lease expired.", false)).not.toHaveProperty(["delivery.attempts"]);
  });

  test("a new document that cannot be sent goes to ERROR in one write, as one attempt", () => {
    const { delivery } = newDocumentErrorPatch(NOW, "bad") as { delivery: Record<string, unknown> };
    expect(delivery).toMatchObject({ state: "ERROR", attempts: 1, error: "bad", leaseExpireTime: null });
    expect(delivery.startTime).toEqual(Timestamp.fromMillis(NOW));
  });
});
