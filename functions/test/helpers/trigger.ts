/**
 * Delivers Firestore write events to `processQueue` (extension-env.ts), the
 * way Cloud Functions does: `event.data` is a Change of real snapshots read
 * from the emulator, and every write the function itself makes is delivered
 * as a further event, until the document stops changing.
 */
import { Change } from "firebase-functions";
import type { DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import type { MailWriteEvent } from "../../src/handlers/process-queue";

/** processQueue as tests run it (extension-env.ts), or any stand-in with its `run`. */
export type MailFunction = { run(event: MailWriteEvent): Promise<unknown> };

let sequence = 0;

export function writeEvent(before: DocumentSnapshot, after: DocumentSnapshot, database = "(default)"): MailWriteEvent {
  const documentId = after.id;
  return {
    specversion: "1.0",
    id: `test-event-${++sequence}`,
    source: `//firestore.googleapis.com/projects/${process.env.GCLOUD_PROJECT}/databases/${database}`,
    type: "google.cloud.firestore.document.v1.written",
    time: new Date().toISOString(),
    location: "us",
    project: process.env.GCLOUD_PROJECT ?? "",
    database,
    namespace: "(default)",
    document: after.ref.path,
    params: { documentId },
    data: new Change<DocumentSnapshot>(before, after),
  } as unknown as MailWriteEvent;
}

export class Trigger {
  /** How many times the function was invoked, for operation counts. */
  invocations = 0;

  constructor(
    private readonly db: Firestore,
    private readonly fn: MailFunction,
    /** The database named in each event; the function works against it. */
    private readonly database = "(default)",
  ) {}

  /** Creates the document as a client would and delivers every event that follows. */
  async create(path: string, data: Record<string, unknown>): Promise<DocumentSnapshot> {
    const ref = this.db.doc(path);
    const before = await ref.get();
    await ref.create(data);
    return this.settle(path, before);
  }

  /** Updates the document as a client would and delivers every event that follows. */
  async update(path: string, data: Record<string, unknown>): Promise<DocumentSnapshot> {
    const ref = this.db.doc(path);
    const before = await ref.get();
    await ref.update(data);
    return this.settle(path, before);
  }

  /** Delivers one event for the change `before` → current document. */
  async fire(path: string, before: DocumentSnapshot): Promise<DocumentSnapshot> {
    const after = await this.db.doc(path).get();
    this.invocations++;
    await this.fn.run(writeEvent(before, after, this.database));
    return after;
  }

  /**
   * Delivers the event for `before` → current, then one event for each write
   * the function made, until the document no longer changes.
   */
  async settle(path: string, before: DocumentSnapshot, maxEvents = 20): Promise<DocumentSnapshot> {
    let previous = before;
    for (let i = 0; i < maxEvents; i++) {
      const seen = await this.fire(path, previous);
      const now = await this.db.doc(path).get();
      if (sameVersion(seen, now)) return now;
      previous = seen;
    }
    throw new Error(`${path} was still changing after ${maxEvents} events`);
  }
}

function sameVersion(a: DocumentSnapshot, b: DocumentSnapshot): boolean {
  if (!a.exists || !b.exists) return a.exists === b.exists;
  return Boolean(a.updateTime && b.updateTime && a.updateTime.isEqual(b.updateTime));
}
