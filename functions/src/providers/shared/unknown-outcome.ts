/**
 * A send whose whole message was handed over (SMTP's final dot, an API
 * request's body) and then got no answer: the provider may have accepted
 * it, so it is never sent again automatically; a person's RETRY sends it.
 */
import { DeliveryError } from "../../shared/errors";
import { formatDuration } from "../../shared/deadline";

/** Words every unknown-outcome error carries, for people and for tests. */
export const OUTCOME_UNKNOWN_NOTE = "may have accepted";

/** One send: `complete` once the whole message has been handed to the operating system. */
export interface Handover {
  complete: boolean;
}

/** `who` (e.g. "The SMTP server") took the whole message and gave no answer within `deadlineMs` (or before the connection ended). */
export function handedOverWithoutAnswer(who: string, deadlineMs?: number): DeliveryError {
  const silence = deadlineMs === undefined ? "the connection ended before it answered" : `it did not answer within ${formatDuration(deadlineMs)}`;
  return new DeliveryError(
    "outcome-unknown",
    `${who} ${OUTCOME_UNKNOWN_NOTE} the mail: the whole message was handed over, then ${silence}. ` +
      "It was not sent again automatically, so that it is not delivered twice; set delivery.state to RETRY to send it again.",
  );
}

/** A send past its deadline: outcome unknown once handed over, else a transient timeout saying `timeout`. */
export function deadlineError(who: string, handover: Handover | undefined, deadlineMs: number, timeout: string): DeliveryError {
  return handover?.complete ? handedOverWithoutAnswer(who, deadlineMs) : new DeliveryError("timeout", timeout, { transient: true });
}
