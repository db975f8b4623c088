/**
 * What an expired lease becomes, the same for processQueue and maintainQueue:
 * the dead attempt is counted, and the mail fails or waits for a retry.
 */
import { LEASE_EXPIRED_ERROR } from "../../../src/delivery/delivery-field";
import { planLeaseExpiry } from "../../../src/handlers/lease-expiry";

const NOW = Date.UTC(2026, 0, 1);

test("without automatic retries the mail ends in ERROR, its attempt counted", () => {
  const expiry = planLeaseExpiry({ maxAttempts: 1, retryBackoffSeconds: 60 }, { delivery: { state: "PROCESSING", attempts: 0 } }, NOW);
  expect(expiry).toMatchObject({ state: "ERROR", attempts: 1 });
  expect(expiry.patch).toMatchObject({ "delivery.state": "ERROR", "delivery.error": LEASE_EXPIRED_ERROR });
});

test("with attempts left the mail goes back to PENDING with the lease-expired error", () => {
  const expiry = planLeaseExpiry({ maxAttempts: 3, retryBackoffSeconds: 60 }, { delivery: { state: "PROCESSING", attempts: 1 } }, NOW);
  expect(expiry).toMatchObject({ state: "PENDING", attempts: 2 });
  expect(expiry.patch).toMatchObject({ "delivery.state": "PENDING", "delivery.error": LEASE_EXPIRED_ERROR });
});

test("an unreadable attempts count counts from zero", () => {
  const expiry = planLeaseExpiry({ maxAttempts: 1, retryBackoffSeconds: 60 }, { delivery: { state: "PROCESSING", attempts: "many" } }, NOW);
  expect(expiry.attempts).toBe(1);
});
