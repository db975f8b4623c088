/**
 * Environment variables the platform sets for the triggers and lifecycle events. Read on each call and never
 * throwing: triggers must be declared and events published even with invalid params, and the platform may
 * change the event selection without a redeploy.
 */
import { read, type Env } from "./env-values";
import type { Config } from "./index";

/** Where processQueue is triggered, and MAINTENANCE_SCHEDULE: when maintainQueue runs. */
export type TriggerSettings = Pick<Config, "mailCollection" | "database"> & { maintenanceSchedule: string };

/** Read as parseConfig reads the same params, with extension.yaml's defaults. */
export function triggerSettings(env: Env = process.env): TriggerSettings {
  return {
    mailCollection: read(env, "MAIL_COLLECTION") ?? "mail",
    database: read(env, "DATABASE") ?? "(default)",
    maintenanceSchedule: read(env, "MAINTENANCE_SCHEDULE") ?? "every 1 minutes",
  };
}

export interface EventSettings {
  /** The Eventarc channel; undefined when the instance publishes no events. */
  channel?: string;
  /** EXT_SELECTED_EVENTS (Firebase) or ALLOWED_EVENT_TYPES (Extensions emulator). Undefined means every type; empty, none. */
  selectedTypes?: string[];
  /** Set when running against the Eventarc emulator. */
  emulatorHost?: string;
  /** The project, for the emulator's own app. */
  projectId?: string;
}

export function eventSettings(env: Env = process.env): EventSettings {
  return {
    channel: read(env, "EVENTARC_CHANNEL"),
    selectedTypes: (env.EXT_SELECTED_EVENTS ?? env.ALLOWED_EVENT_TYPES)?.split(",").map((type) => type.trim()).filter((type) => type !== ""),
    emulatorHost: read(env, "CLOUD_EVENTARC_EMULATOR_HOST"),
    projectId: env.GCLOUD_PROJECT ?? env.PROJECT_ID,
  };
}
