/** processQueue: a write to a mail document, handed to the delivery core (delivery/attempt.ts). */
import type { Change, DocumentSnapshot, FirestoreEvent } from "firebase-functions/v2/firestore";
import { processMailWrite } from "../delivery/attempt";
import type { Runtime } from "../delivery/runtime";

/**
 * Whether the platform delivers a failed invocation's trigger again
 * (extension.yaml says the same). The handler fails only on a transient
 * Firestore failure, so that a mail it could not initialise or claim is looked at again.
 */
export const PROCESS_QUEUE_RETRIES = true;

export type MailWriteEvent = FirestoreEvent<Change<DocumentSnapshot> | undefined, { documentId: string }>;

export async function handleMailWrite(event: MailWriteEvent, runtime: Runtime): Promise<void> {
  const after = event.data?.after;
  const before = event.data?.before;
  if (!after?.exists || !after.updateTime) return;
  await processMailWrite(runtime, {
    triggerId: event.id,
    database: event.database || "(default)",
    path: after.ref.path,
    // Decoded once: data() builds the whole document afresh on every call.
    data: after.data() ?? {},
    before: before?.exists ? before.data() : undefined,
    createTime: after.createTime,
    updateTime: after.updateTime,
    firestore: after.ref.firestore,
  });
}
