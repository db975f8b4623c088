/**
 * Collects the lifecycle events of one invocation and publishes them without
 * holding up the send: each publish starts at once, and the invocation waits
 * for all of them only at its end (Cloud Functions may stop an instance's CPU
 * once the handler returns). Events are published only by the invocation
 * whose conditional write made the transition, so each is published once.
 */
import { publishEvent, type EventData, type LifecycleEvent } from "./events";

export interface EventBatch {
  publish(type: LifecycleEvent, fields: Partial<Omit<EventData, "path" | "documentId">>): void;
  /** Resolves when every publish has finished (publishing never rejects). */
  flush(): Promise<void>;
}

export function eventBatch(path: string): EventBatch {
  const pending: Array<Promise<void>> = [];
  const documentId = path.slice(path.lastIndexOf("/") + 1);
  return {
    publish(type, fields) {
      pending.push(publishEvent(type, { path, documentId, state: null, attempts: null, error: null, info: null, ...fields }));
    },
    async flush() {
      await Promise.all(pending);
    },
  };
}
