/**
 * Runs `work` with an AbortSignal that fires after `ms`, the one way this
 * extension bounds an operation in time. Settles as `work` does if it
 * settles first; otherwise rejects with `onTimeout()`, which is also the
 * signal's abort reason, and a later rejection of `work` is swallowed. No
 * timer outlives the race to hold an instance or a test process open.
 */
export async function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
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
