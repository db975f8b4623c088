/** `sendAt`: a top-level timestamp asking for a mail to be sent later. decide.ts acts on it; this refuses a value that is not a timestamp. */
import { ValidationError } from "../shared/errors";
import { toMillis } from "../shared/timestamps";

export function validateSendAt(data: Record<string, unknown>): void {
  if (data.sendAt !== undefined && data.sendAt !== null && toMillis(data.sendAt) === undefined) {
    throw new ValidationError(`Invalid field "sendAt". Expected a Firestore timestamp (for example Timestamp.fromDate(new Date(...))).`);
  }
}
