/**
 * A mail with `separateMessages` keeps each recipient's outcome in
 * `delivery.recipients`, keyed by address (lower-cased). The map is what makes
 * "never twice to one recipient" hold across attempts and crashes: a recipient
 * is marked UNKNOWN before its message is handed to the provider (the
 * checkpoint lands first), and replaced by its result once known, so that a
 * recipient whose attempt died stays UNKNOWN and is never sent again
 * automatically. Pure: the planning and the mail's overall state are unit
 * tests (test/unit/delivery/recipient-progress.test.ts); send-separately.ts
 * does the writes.
 */
import { firestoreBytes } from "./bounded-info";

export type RecipientState = "SUCCESS" | "ERROR" | "PENDING" | "UNKNOWN";

/** One recipient's entry in `delivery.recipients`. */
export interface RecipientEntry {
  /** SUCCESS: accepted; ERROR: refused for good or out of attempts; PENDING: to be sent (again); UNKNOWN: handed over without a recorded answer (while PROCESSING: being sent now). */
  state: RecipientState;
  /** Sends of this recipient's message started, over all attempts. */
  attempts: number;
  /** The accepted message's Message-ID. */
  messageId?: string;
  /** Why the last send failed or is unknown. */
  error?: string;
}

export type RecipientProgress = Record<string, RecipientEntry>;

/** Each entry stays under about 1 KiB, so that 100 of them fit beside a large mail. */
export const ENTRY_LIMITS = { error: 500, messageId: 250 } as const;

const STATES: readonly string[] = ["SUCCESS", "ERROR", "PENDING", "UNKNOWN"];

/**
 * `delivery.recipients` as the document holds it. Anyone may have written it
 * (a person at the console): an entry that is not one is dropped, which
 * sends to that recipient again only if it was never a readable SUCCESS or UNKNOWN.
 */
export function readProgress(delivery: unknown): RecipientProgress {
  const map = typeof delivery === "object" && delivery !== null ? (delivery as { recipients?: unknown }).recipients : undefined;
  if (typeof map !== "object" || map === null || Array.isArray(map)) return {};
  const progress: RecipientProgress = {};
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    if (typeof value !== "object" || value === null) continue;
    const { state, attempts, messageId, error } = value as Record<string, unknown>;
    if (typeof state !== "string" || !STATES.includes(state)) continue;
    const entry: RecipientEntry = { state: state as RecipientState, attempts: typeof attempts === "number" && Number.isSafeInteger(attempts) && attempts >= 0 ? attempts : 0 };
    if (typeof messageId === "string") entry.messageId = messageId;
    if (typeof error === "string") entry.error = error;
    put(progress, key, entry);
  }
  return progress;
}

/**
 * Who gets a message in this attempt, in the mail's order: recipients without
 * an entry or PENDING. A person's RETRY also sends to those that failed
 * (ERROR: a suppression lifted, a mailbox created). Never to SUCCESS, and
 * never to UNKNOWN: the provider may have the message already (to send one
 * again, a person removes its entry and writes RETRY).
 */
export function recipientsToSend(keys: readonly string[], progress: RecipientProgress, byPerson: boolean): string[] {
  return keys.filter((key) => {
    const state = Object.hasOwn(progress, key) ? progress[key].state : undefined;
    return state === undefined || state === "PENDING" || (byPerson && state === "ERROR");
  });
}

/** The checkpoint before a batch goes out: its recipients UNKNOWN, their sends counted. */
export function markInFlight(progress: RecipientProgress, keys: readonly string[]): RecipientProgress {
  const next = { ...progress };
  for (const key of keys) put(next, key, { state: "UNKNOWN", attempts: attemptsOf(progress, key) + 1 });
  return next;
}

/** Sets an entry as an own property, whatever its key (an address may be spelt "__proto__"). */
export function put(progress: RecipientProgress, key: string, entry: RecipientEntry): void {
  Object.defineProperty(progress, key, { value: entry, enumerable: true, writable: true, configurable: true });
}

/** How one recipient's send ended. */
export type SendResult = { accepted: true; messageId: string | null } | { accepted: false; error: string; transient: boolean; unknown: boolean };

/** A recipient's entry after its send (already counted by markInFlight): a transient failure is retried while MAX_ATTEMPTS allows. */
export function settle(entry: RecipientEntry, result: SendResult, maxAttempts: number): RecipientEntry {
  const { attempts } = entry;
  if (result.accepted) return { state: "SUCCESS", attempts, ...(result.messageId !== null && { messageId: cut(result.messageId, ENTRY_LIMITS.messageId) }) };
  const error = cut(result.error, ENTRY_LIMITS.error);
  if (result.unknown) return { state: "UNKNOWN", attempts, error };
  return { state: result.transient && attempts < maxAttempts ? "PENDING" : "ERROR", attempts, error };
}

/** What the recipients' entries make of the mail once an attempt stops sending. */
export interface Summary {
  /**
   * PENDING while some recipient is still to be sent (not reached, or a
   * temporary failure with attempts left); else SUCCESS if any recipient
   * accepted its message (like one message whose server refused some
   * recipients), else ERROR.
   */
  state: "SUCCESS" | "ERROR" | "PENDING";
  accepted: string[];
  /** ERROR entries: refused for good, suppressed, or out of attempts. */
  rejected: string[];
  unknown: string[];
  /** PENDING entries with a send behind them (temporary failures). */
  retrying: string[];
  /** Recipients never sent to yet (this attempt stopped before them). */
  notReached: string[];
}

export function summarize(keys: readonly string[], progress: RecipientProgress): Summary {
  const summary: Summary = { state: "ERROR", accepted: [], rejected: [], unknown: [], retrying: [], notReached: [] };
  for (const key of keys) {
    const entry = Object.hasOwn(progress, key) ? progress[key] : undefined;
    if (entry === undefined || (entry.state === "PENDING" && entry.attempts === 0)) summary.notReached.push(key);
    else if (entry.state === "SUCCESS") summary.accepted.push(key);
    else if (entry.state === "ERROR") summary.rejected.push(key);
    else if (entry.state === "UNKNOWN") summary.unknown.push(key);
    else summary.retrying.push(key);
  }
  if (summary.notReached.length + summary.retrying.length > 0) summary.state = "PENDING";
  else if (summary.accepted.length > 0) summary.state = "SUCCESS";
  return summary;
}

/** The most sends any retrying recipient has had: the next attempt's backoff follows it. */
export function mostAttempts(progress: RecipientProgress, keys: readonly string[]): number {
  return Math.max(1, ...keys.map((key) => attemptsOf(progress, key)));
}

function attemptsOf(progress: RecipientProgress, key: string): number {
  return Object.hasOwn(progress, key) ? progress[key].attempts : 0;
}

function cut(text: string, maxBytes: number): string {
  if (firestoreBytes(text) <= maxBytes) return text;
  return Buffer.from(text, "utf8").subarray(0, maxBytes - 4).toString("utf8").replace(/\uFFFD+$/, "") + "…";
}
