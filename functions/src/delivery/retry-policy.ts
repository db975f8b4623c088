/**
 * Automatic retries: which failures are worth another attempt, and when it is
 * due. Opt-in (MAX_ATTEMPTS > 1, default 1) because a retry may send a mail twice.
 */
import { errorPatch, retryPatch, type Patch } from "./patches";

/** The longest wait between two attempts. */
export const MAX_BACKOFF_MS = 3_600_000;

/**
 * The delay after `attempt` attempts (1-based): the first backoff doubled for
 * each attempt since, with ±20% jitter so that mail that failed together does
 * not retry together, capped at MAX_BACKOFF_MS.
 */
export function retryDelayMs(attempt: number, backoffSeconds: number, random: () => number = Math.random): number {
  const base = backoffSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
  return Math.round(Math.min(base * (0.8 + 0.4 * random()), MAX_BACKOFF_MS));
}

/** A failed attempt, number `attemptsBefore + 1`: retried later if transient and attempts remain, else ERROR. */
export function failurePatch(
  settings: { maxAttempts: number; retryBackoffSeconds: number },
  error: string,
  transient: boolean,
  attemptsBefore: number,
  nowMs: number,
): { state: "PENDING" | "ERROR"; patch: Patch } {
  const attempt = attemptsBefore + 1;
  if (transient && attempt < settings.maxAttempts) {
    return { state: "PENDING", patch: retryPatch(error, nowMs + retryDelayMs(attempt, settings.retryBackoffSeconds)) };
  }
  return { state: "ERROR", patch: errorPatch(error, true) };
}
