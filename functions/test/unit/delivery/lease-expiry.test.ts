/**
 * What an expired lease becomes, the same for processQueue and maintainQueue:
 * the dead attempt is counted and the mail ends in ERROR, never a retry (it
 * may have sent the mail before dying).
 */
import { LEASE_EXPIRED_ERROR } from "../../../src/delivery/delivery-field";
import { planLeaseExpiry } from "../../../src/delivery/lease-expiry";

test("the mail ends in ERROR with the original's text, its attempt counted", () => {
  const expiry = planLeaseExpiry({ delivery: { state: "PROCESSING", attempts: 0 } }, false);
  expect(expiry.transition).toMatchObject({ to: "ERROR", attempts: 1 });
  expect(expiry.patch).toMatchObject({ "delivery.state": "ERROR", "delivery.error": LEASE_EXPIRED_ERROR });
});

test("with attempts left (MAX_ATTEMPTS > 1) it is still not retried automatically", () => {
  const expiry = planLeaseExpiry({ delivery: { state: "PROCESSING", attempts: 1 } }, false);
  expect(expiry.transition).toMatchObject({ to: "ERROR", attempts: 2 });
});

test("a RETRY a person wrote during the dead attempt is declined, saying why", () => {
  const expiry = planLeaseExpiry({ delivery: { state: "RETRY", attempts: 0 } }, true);
  expect(expiry.patch["delivery.retryRequest"]).toMatchObject({ answer: "declined" });
});

test("an unreadable attempts count counts from zero", () => {
  const expiry = planLeaseExpiry({ delivery: { state: "PROCESSING", attempts: "many" } }, false);
  expect(expiry.transition.attempts).toBe(1);
});
