/**
 * Templates and users that cannot be read are not the document's fault: the
 * failure has its own code and is transient, so automatic retries
 * (MAX_ATTEMPTS) take it up, unless Firestore refused the read outright.
 */
import { DeliveryError } from "../../../src/shared/errors";
import { usersUnavailable } from "../../../src/mail/recipients";
import { templatesUnavailable } from "../../../src/mail/templates";

test.each([
  ["templates", templatesUnavailable],
  ["users", usersUnavailable],
])("%s that cannot be read in time: lookup-failed, transient", (_, unavailable) => {
  const error = unavailable("things", "Firestore did not answer within 10 s.");
  expect(error).toBeInstanceOf(DeliveryError);
  expect([error.code, error.transient]).toEqual(["lookup-failed", true]);
  expect(error.message).toContain("'things'");
});

test("a refused read stays final", () => {
  expect(usersUnavailable("users", "PERMISSION_DENIED", false).transient).toBe(false);
});
