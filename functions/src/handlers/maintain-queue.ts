/** maintainQueue: the scheduled sweep (delivery/sweep.ts). */
import type { Runtime } from "../delivery/runtime";
import { sweep, type SweepOptions } from "../delivery/sweep";
import type { MaintenanceReport } from "../delivery/sweep-scan";
import { defaultRuntime } from "./runtime";

export type { MaintenanceReport } from "../delivery/sweep-scan";

export function runMaintenance(nowMs = Date.now(), options: SweepOptions = {}, runtime: Runtime = defaultRuntime): Promise<MaintenanceReport> {
  return sweep(runtime, nowMs, options);
}
