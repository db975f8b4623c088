/**
 * `sendAt`: a top-level Firestore timestamp on a mail document asking for it
 * to be sent later. The decision (wait, reschedule, send now) is in
 * decide.ts; this only refuses values that are not a timestamp.
 */
import { ValidationError } from "../shared/errors";
import { toMillis } from "../shared/timestamps";

export function validateSendAt(data: Record<string, unknown>): void {
  const sendAt = data.sendAt;
  if (sendAt === undefined || sendAt === null) return;
  if (toMillis(sendAt) === undefined) {
    throw new ValidationError(
      `Invalid field "sendAt". Expected a Firestore timestamp (for example Timestamp.fromDate(new Date(...))).`,
    );
  }
}
