/**
 * Keeps the extension's log lines (one JSON line per step, thousands in a
 * burst) out of the benchmark's output, and counts them by severity instead.
 * run.ts imports this module first: firebase-functions' logger keeps the
 * console methods that exist when it loads.
 */
export const logCounts: Record<string, number> = {};
/** The first warnings and errors, shown at the end of the run. */
export const notableLogs: string[] = [];

for (const method of ["debug", "info", "log", "warn", "error"] as const) {
  console[method] = (...args: unknown[]) => {
    logCounts[method] = (logCounts[method] ?? 0) + 1;
    if ((method === "warn" || method === "error") && notableLogs.length < 10) {
      notableLogs.push(args.map(String).join(" ").slice(0, 300));
    }
  };
}

/** The benchmark's own output. */
export function print(text = ""): void {
  process.stdout.write(`${text}\n`);
}
