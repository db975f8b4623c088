/**
 * Automatic retries (opt-in with MAX_ATTEMPTS > 1): which failures are worth
 * another attempt, and when it is due. With the default MAX_ATTEMPTS of 1
 * every failure is final: a retry may send a mail twice, so it is opt-in.
 */
import { errorPatch, retryPatch, type Patch } from "./patches";

/** The longest wait between two attempts. */
export const MAX_BACKOFF_MS = 3_600_000;

export interface RetrySettings {
  maxAttempts: number;
  retryBackoffSeconds: number;
}

/**
 * The delay before attempt `attempt + 1`, after `attempt` attempts (1-based):
 * the first backoff doubled for each attempt since, with ±20% jitter so that
 * mail that failed together does not retry together, capped at one hour.
 */
export function retryDelayMs(attempt: number, backoffSeconds: number, random: () => number = Math.random): number {
  const base = backoffSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, MAX_BACKOFF_MS));
}

/**
 * The outcome of a failed attempt, the attempt being number
 * `attemptsBefore + 1`: retry later if the failure is transient and attempts
 * remain, otherwise ERROR with the error.
 */
export function failurePatch(
  settings: RetrySettings,
  error: string,
  transient: boolean,
  attemptsBefore: number,
  nowMs: number,
): { state: "PENDING" | "ERROR"; patch: Patch } {
  const attempt = attemptsBefore + 1;
  if (transient && attempt < settings.maxAttempts) {
    const dueAt = nowMs + retryDelayMs(attempt, settings.retryBackoffSeconds);
    return { state: "PENDING", patch: retryPatch(error, dueAt) };
  }
  return { state: "ERROR", patch: errorPatch(error, true) };
}
