/**
 * The one way this extension bounds an operation in time: a send, a lookup,
 * a publish. Every caller needs the same three guarantees: the caller stops
 * waiting when time is up, the operation itself is told to stop (through the
 * AbortSignal it was given), and no timer outlives the race to hold an
 * instance or a test process open.
 */

/**
 * Runs `work` with an AbortSignal that fires after `ms`. Resolves or rejects
 * as `work` does if it settles first; otherwise rejects with `onTimeout()`,
 * which is also the signal's abort reason. A rejection of `work` after the
 * deadline won is expected and swallowed.
 */
export async function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onTimeout();
      reject(error);
      controller.abort(error);
    }, ms);
    // The work, not the timer, keeps the process alive while it runs.
    timer.unref();
  });
  const running = work(controller.signal);
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A duration as people read it in an error text: `40 s`, `300 ms`. */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
