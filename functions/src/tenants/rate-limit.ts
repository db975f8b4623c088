/**
 * A sender profile's `maxMessagesPerSecond`, per function instance: a burst
 * of up to one second's worth goes at once, then one message every
 * 1/rate seconds. A mail that would wait past its send deadline is not held:
 * it fails as transient and the retry policy brings it back.
 */
export interface RateLimiter {
  /** Waits for this message's turn and says how long it waited, in ms; undefined when the turn comes after `withinMs`. */
  take(withinMs: number): Promise<number | undefined>;
}

export function rateLimiter(perSecond: number, now: () => number = Date.now): RateLimiter {
  const interval = 1000 / perSecond;
  const burst = Math.max(0, 1000 - interval);
  // The theoretical time the next message is due (GCRA).
  let due = 0;
  return {
    async take(withinMs) {
      const at = now();
      const next = Math.max(due, at);
      const wait = Math.max(0, next - burst - at);
      if (wait > withinMs) return undefined;
      due = next + interval;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return wait;
    },
  };
}
