/**
 * The lifecycle events of one invocation. Each publish starts at once and the
 * invocation awaits them all only at its end (the platform may stop the CPU
 * once the handler returns). Only the invocation whose conditional write made
 * a transition reports it, so each event is published once. The batch follows
 * the document through the invocation's writes, so that each event carries
 * the version its transition produced; without an Eventarc channel it builds
 * nothing at all.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import * as logs from "../shared/logs";
import type { LifecyclePublisher } from "./events";
import { eventsFor, type Transition } from "./transitions";
import { afterWrite, projectIdOf, type DocumentVersion, type UpdateData } from "./written-document";

export interface EventBatch {
  /** A landed write; without `commitTime` (a transaction's) the local clock stands in. */
  wrote(patch: UpdateData, commitTime?: Timestamp): void;
  /** Publishes the events of `transition` for the document as the writes so far left it. */
  moved(transition: Transition): void;
  /** Resolves when every publish has finished (publishing never rejects). */
  flush(): Promise<void>;
}

/** The version of the document the invocation started from. */
export interface StartingVersion {
  data: Record<string, unknown>;
  createTime?: Timestamp;
  updateTime: Timestamp;
  /** The client the document was read with: it names the project. */
  firestore: Firestore;
}

/** `start` null: the version is unknown, and events go out without `doc` rather than with a wrong one. */
export function eventBatch(path: string, start: StartingVersion | null, publisher: LifecyclePublisher): EventBatch {
  const pending: Array<Promise<void>> = [];
  const documentId = path.slice(path.lastIndexOf("/") + 1);
  const enabled = publisher.enabled();
  let document: DocumentVersion | undefined =
    enabled && start
      ? { path, projectId: projectIdOf(start.firestore), data: start.data, createTime: start.createTime ?? start.updateTime, updateTime: start.updateTime }
      : undefined;
  return {
    wrote(patch, commitTime) {
      if (!document) return;
      try {
        document = afterWrite(document, patch, commitTime ?? Timestamp.now());
      } catch (error) {
        logs.unexpectedError(path, error);
        document = undefined;
      }
    },
    moved(transition) {
      if (!enabled) return;
      const { to, attempts, error = null, info = null } = transition;
      for (const type of eventsFor(transition)) {
        const fields = type === "onStart" ? {} : { state: to, attempts, error, info };
        const data = { path, documentId, state: null, attempts: null, error: null, info: null, ...fields };
        pending.push(publisher.publish(type, data, document));
      }
    },
    async flush() {
      await Promise.all(pending);
    },
  };
}
