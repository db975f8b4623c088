/**
 * Collects the lifecycle events of one invocation and publishes them without
 * holding up the send: each publish starts at once, and the invocation waits
 * for all of them only at its end (Cloud Functions may stop an instance's CPU
 * once the handler returns). Events are published only by the invocation
 * whose conditional write made the transition, so each is published once.
 *
 * The batch also follows the document through the invocation's writes, so
 * that each event carries the version its transition produced. Without an
 * Eventarc channel a batch does nothing at all: no document is followed and
 * no publish is started, for any of a mail's transitions.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import type { Patch } from "../delivery/patches";
import { afterWrite, type DocumentVersion } from "./event-document";
import { eventarcPublisher, type EventData, type LifecycleEvent, type LifecyclePublisher } from "./events";
import * as logs from "../shared/logs";
import { projectIdOf } from "./snapshot-json";

export interface EventBatch {
  /**
   * Records a write this invocation made. `commitTime` is the write's commit
   * time; without it (a transaction, whose commit time Firestore does not
   * return) the local clock stands in.
   */
  wrote(patch: Patch, commitTime?: Timestamp): void;
  /** Publishes `type` for the document as the writes recorded so far left it. */
  publish(type: LifecycleEvent, fields: Partial<Omit<EventData, "path" | "documentId">>): void;
  /** Resolves when every publish has finished (publishing never rejects). */
  flush(): Promise<void>;
}

/** The version of the document the invocation started from. */
export interface StartingVersion {
  data: Record<string, unknown>;
  createTime?: Timestamp;
  updateTime: Timestamp;
  /** The client the document was read with; it names the project. */
  firestore: Firestore;
}

/**
 * A batch for the mail at `path`. `start` null: the version is not known
 * (another writer replaced it before it could be read), and the events go
 * out without `doc` rather than with a wrong one.
 */
export function eventBatch(path: string, start: StartingVersion | null, publisher: LifecyclePublisher = eventarcPublisher): EventBatch {
  const pending: Array<Promise<void>> = [];
  const documentId = path.slice(path.lastIndexOf("/") + 1);
  const enabled = publisher.enabled();
  let document: DocumentVersion | undefined = enabled && start
    ? {
        path,
        projectId: projectIdOf(start.firestore),
        data: start.data,
        createTime: start.createTime ?? start.updateTime,
        updateTime: start.updateTime,
      }
    : undefined;
  return {
    wrote(patch, commitTime) {
      if (!document) return;
      try {
        document = afterWrite(document, patch, commitTime ?? Timestamp.now());
      } catch (error) {
        // The events go out without `doc` rather than with a wrong one.
        logs.unexpectedError(path, error);
        document = undefined;
      }
    },
    publish(type, fields) {
      if (!enabled) return;
      const data = { path, documentId, state: null, attempts: null, error: null, info: null, ...fields };
      pending.push(publisher.publish(type, data, document));
    },
    async flush() {
      await Promise.all(pending);
    },
  };
}
