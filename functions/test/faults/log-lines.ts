/** Warning and error lines the extension logged during a fault run, counted (see faults-setup.ts). */
import { format } from "node:util";

const SAMPLE_SIZE = 5;

class LogLines {
  counts = { warn: 0, error: 0 };
  /** The first few lines, cut short, for a report. */
  sample: string[] = [];

  record(level: "warn" | "error", args: unknown[]): void {
    this.counts[level]++;
    if (this.sample.length < SAMPLE_SIZE) this.sample.push(`${level}: ${format(...args).slice(0, 300)}`);
  }

  reset(): void {
    this.counts = { warn: 0, error: 0 };
    this.sample = [];
  }
}

export const logLines = new LogLines();
