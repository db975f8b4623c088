/**
 * Delivers a mail document's write events to the real exported
 * `processQueue` the way Cloud Functions does with the trigger's retry
 * policy on (extension.yaml `retryPolicy: RETRY_POLICY_RETRY`):
 * - an invocation that throws gets the same event again after a backoff
 *   (1 s, 2 s, 4 s… capped at 10 s) until one returns; the platform keeps
 *   trying for days, a test gives up after `giveUpAfterMs`;
 * - every new version of the document is delivered as a further event as
 *   soon as it is seen (the document is polled while any invocation runs),
 *   beside the invocations still running, whether or not they throw later.
 *
 * Trigger (trigger.ts) delivers one event at a time and lets a throw
 * through; this one keeps a log of what each event met, for a test's report.
 * Like Trigger, it reads the documents with the test's own client.
 */
import type { DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import { statusOf } from "../../src/shared/firestore-status";
import { writeEvent, type MailFunction } from "./trigger";

export interface EventRetryPolicy {
  /** The wait before the first redelivery, doubled for each one after it. */
  firstBackoffMs: number;
  maxBackoffMs: number;
  /** How long after its first delivery an event is given up on. */
  giveUpAfterMs: number;
}

/** Cloud Functions' redelivery of a failed event, bounded for a test. */
export const EVENT_RETRIES: EventRetryPolicy = { firstBackoffMs: 1_000, maxBackoffMs: 10_000, giveUpAfterMs: 3 * 60_000 };

/** What the events of one or more `settle` calls met. */
export interface EventLog {
  /** Distinct events (one per version of the document seen). */
  events: number;
  invocations: number;
  /** Invocations that threw. */
  threw: number;
  /** Events still failing when the policy gave up on them. */
  gaveUp: number;
  /** One line per invocation, at the time it started (ms after `startedAt`). */
  lines: TimedLine[];
  startedAt: number;
}

export interface TimedLine {
  at: number;
  text: string;
}

export function newEventLog(startedAt = Date.now()): EventLog {
  return { events: 0, invocations: 0, threw: 0, gaveUp: 0, lines: [], startedAt };
}

/** Timed lines in order, each as `+12.3 s text`. */
export function timeline(lines: TimedLine[]): string[] {
  return [...lines].sort((a, b) => a.at - b.at).map((line) => `+${seconds(line.at)} ${line.text}`);
}

export class RetryingTrigger {
  constructor(
    private readonly db: Firestore,
    private readonly fn: MailFunction,
    private readonly policy: EventRetryPolicy = EVENT_RETRIES,
    private readonly pollMs = 200,
  ) {}

  /**
   * Delivers the event for `before` → current document, then an event for
   * each version seen after it, until no invocation runs and the document
   * no longer changes. Never throws for the function: `log` says what
   * happened. Returns the document as it was left.
   */
  async settle(path: string, before: DocumentSnapshot, log: EventLog = newEventLog()): Promise<DocumentSnapshot> {
    const ref = this.db.doc(path);
    let latest = before;
    const running = new Set<Promise<void>>();
    const deliverNewVersion = async (): Promise<void> => {
      const current = await ref.get();
      if (sameVersion(latest, current)) return;
      const delivery: Promise<void> = this.deliver(latest, current, log).finally(() => running.delete(delivery));
      running.add(delivery);
      latest = current;
    };
    await deliverNewVersion();
    while (running.size > 0) {
      await Promise.race([...running, sleep(this.pollMs)]);
      await deliverNewVersion();
    }
    return latest;
  }

  /** One event, delivered again after each invocation that throws. */
  private async deliver(before: DocumentSnapshot, after: DocumentSnapshot, log: EventLog): Promise<void> {
    const event = writeEvent(before, after);
    const name = `event ${++log.events} (${describeVersion(before)} → ${describeVersion(after)})`;
    const firstAt = Date.now();
    let backoff = this.policy.firstBackoffMs;
    for (let delivery = 1; ; delivery++) {
      const startedAt = Date.now();
      const line = (text: string) =>
        log.lines.push({ at: startedAt - log.startedAt, text: `${name}${delivery > 1 ? `, delivery ${delivery}` : ""}: ${text}` });
      log.invocations++;
      try {
        await this.fn.run(event);
        line(`returned after ${seconds(Date.now() - startedAt)}`);
        return;
      } catch (error) {
        log.threw++;
        const why = `threw ${statusOf(error) ?? "an error"} after ${seconds(Date.now() - startedAt)}`;
        if (Date.now() + backoff - firstAt > this.policy.giveUpAfterMs) {
          log.gaveUp++;
          line(`${why}; given up`);
          return;
        }
        line(`${why}; delivered again in ${seconds(backoff)}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.policy.maxBackoffMs);
      }
    }
  }
}

/** A version of a mail document in a few words: its delivery state, or that it does not exist. */
export function describeVersion(doc: DocumentSnapshot): string {
  if (!doc.exists) return "absent";
  const state: unknown = doc.get("delivery.state");
  return typeof state === "string" ? state : "no delivery";
}

function sameVersion(a: DocumentSnapshot, b: DocumentSnapshot): boolean {
  if (!a.exists || !b.exists) return a.exists === b.exists;
  return Boolean(a.updateTime && b.updateTime && a.updateTime.isEqual(b.updateTime));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
