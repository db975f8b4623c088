/**
 * The one table of which lifecycle events a change of `delivery.state`
 * publishes. Every writer (an attempt, lease recovery, the sweep) reports the
 * transition its landed write made; nothing publishes an event by name.
 */
import type { DeliveryInfo, State } from "../shared/types";
import type { LifecycleEvent } from "./events";

/** A change of `delivery.state` made by one landed write. */
export interface Transition {
  /** `new`: the document had no `delivery`; `unknown`: one the extension cannot read. */
  from: State | "new" | "unknown";
  to: State;
  /** `delivery.attempts` after the write. */
  attempts: number;
  error?: string | null;
  info?: DeliveryInfo | null;
}

const ENDED_IN_ERROR: readonly LifecycleEvent[] = ["onError", "onComplete"];

export const EVENTS_BY_TRANSITION: Readonly<Partial<Record<`${Transition["from"]}>${State}`, readonly LifecycleEvent[]>>> = {
  "new>PENDING": ["onStart", "onPending"],
  "new>ERROR": ["onStart", ...ENDED_IN_ERROR],
  "PENDING>PROCESSING": ["onProcessing"],
  "RETRY>PROCESSING": ["onRetry", "onProcessing"],
  "PENDING>ERROR": ENDED_IN_ERROR,
  "RETRY>ERROR": ENDED_IN_ERROR,
  "PROCESSING>ERROR": ENDED_IN_ERROR,
  "PROCESSING>SUCCESS": ["onSuccess", "onComplete"],
  // A failure retried automatically: the mail has not finished.
  "PROCESSING>PENDING": ["onError"],
  // A dead attempt's true outcome, recorded after its expiry already announced the end.
  "ERROR>SUCCESS": ["onSuccess"],
  "ERROR>ERROR": ["onError"],
  "unknown>ERROR": ["onError"],
};

/** The events `transition` publishes, in order; none for a transition the table does not list. */
export function eventsFor(transition: Transition): readonly LifecycleEvent[] {
  return EVENTS_BY_TRANSITION[`${transition.from}>${transition.to}`] ?? [];
}
