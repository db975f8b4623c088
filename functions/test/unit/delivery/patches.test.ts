import { FieldValue, Timestamp } from "firebase-admin/firestore";
import {
  claimPatch,
  errorPatch,
  LEASE_MS,
  newDocumentErrorPatch,
  pendingPatch,
  successPatch,
} from "../../../src/delivery/patches";

const NOW = Date.UTC(2026, 0, 31, 9, 30, 0);

describe("delivery patches", () => {
  test("a new document starts PENDING with no attempt and no error", () => {
    expect(pendingPatch(NOW)).toEqual({
      delivery: { state: "PENDING", startTime: Timestamp.fromMillis(NOW), attempts: 0, error: null },
    });
  });

  test("expireAt is written with the first delivery when given", () => {
    const expireAt = Timestamp.fromMillis(NOW + 3_600_000);
    expect((pendingPatch(NOW, expireAt).delivery as Record<string, unknown>).expireAt).toBe(expireAt);
  });

  test("a claim moves to PROCESSING with a lease LEASE_MS ahead", () => {
    const { patch, lease } = claimPatch(NOW);
    expect(lease.toMillis()).toBe(NOW + LEASE_MS);
    expect(patch).toEqual({
      "delivery.state": "PROCESSING",
      "delivery.startTime": Timestamp.fromMillis(NOW),
      "delivery.leaseExpireTime": lease,
      "delivery.nextAttemptTime": FieldValue.delete(),
    });
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
