/**
 * Before a mail goes out, recipients listed in SUPPRESSION_COLLECTION are dropped (one batched read) and listed in
 * `delivery.info.suppressed`; if nobody is left, the mail fails saying why and how to lift a suppression.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import { DeliveryError, errorText } from "../shared/errors";
import { withDeadline } from "../shared/deadline";
import { isTransientStatus } from "../shared/firestore-status";
import { LOOKUP_DEADLINE_MS } from "../shared/budget";
import { messageRecipients, withRecipients } from "./message-recipients";
import { suppressedRecipients } from "./suppression-list";
import { STREAMS_FIELD } from "./streams";

/** Addresses quoted in an error text; the rest are counted. */
const QUOTED = 10;

export interface SuppressionResult {
  /** The message without suppressed recipients; the same object when none was. */
  message: SendMailOptions;
  /** Suppressed addresses, as the message named them. */
  suppressed: string[];
}

/** `stream`: the mail's `stream`; a mail that names none is stopped by any suppression of the address. */
export async function dropSuppressed(db: Firestore, collection: string, message: SendMailOptions, stream?: string): Promise<SuppressionResult> {
  const recipients = messageRecipients(message);
  const unavailable = (reason: string, transient: boolean) =>
    new DeliveryError("lookup-failed", `Could not read the suppression collection '${collection}': ${reason}`, { transient });
  const suppressed = await withDeadline(
    () => suppressedRecipients(db, collection, recipients.map((recipient) => recipient.address), stream),
    LOOKUP_DEADLINE_MS,
    () => unavailable(`Firestore did not answer within ${LOOKUP_DEADLINE_MS / 1000} s.`, true),
  ).catch((error: unknown) => {
    throw error instanceof DeliveryError ? error : unavailable(errorText(error), isTransientStatus(error));
  });
  if (suppressed.length === 0) return { message, suppressed };
  const dropped = new Set(suppressed);
  const kept = recipients.filter((recipient) => !dropped.has(recipient.address));
  if (kept.length === 0) {
    const quoted = suppressed.slice(0, QUOTED).join(", ") + (suppressed.length > QUOTED ? ` and ${suppressed.length - QUOTED} more` : "");
    const lift = stream === undefined ? "" : ` (or, when it suppresses only some streams, its field ${STREAMS_FIELD}.${stream})`;
    throw new DeliveryError(
      "recipients-suppressed",
      `Every recipient is suppressed${stream === undefined ? "" : ` on stream '${stream}'`} (listed in '${collection}' after a hard bounce, spam complaint or unsubscribe): ${quoted}. Nothing was sent. To mail an address again, delete its document from '${collection}'${lift} and set delivery.state to RETRY.`,
    );
  }
  return { message: withRecipients(message, kept), suppressed: [...new Set(suppressed)] };
}
