/** maintainQueue: the scheduled sweep (delivery/sweep.ts). */
import type { Runtime } from "../delivery/runtime";
import { sweep, type SweepOptions } from "../delivery/sweep";
import type { MaintenanceReport } from "../delivery/sweep-scan";

export type { MaintenanceReport } from "../delivery/sweep-scan";

export function runMaintenance(runtime: Runtime, nowMs = Date.now(), options: SweepOptions = {}): Promise<MaintenanceReport> {
  return sweep(runtime, nowMs, options);
}
