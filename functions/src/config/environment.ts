/**
 * Environment variables read outside the params (config/index.ts): what the
 * platform sets for the triggers and for lifecycle events. Read on each call,
 * never cached and never throwing: a trigger must be declared and an event
 * published even when the params are invalid, and the platform may change
 * the event selection without a redeploy of this code.
 */
import { read, type Env } from "./env-values";

export interface TriggerSettings {
  /** The collection whose writes trigger processQueue (MAIL_COLLECTION). */
  mailCollection: string;
  /** The Firestore database of that collection (DATABASE). */
  database: string;
  /** When maintainQueue runs (MAINTENANCE_SCHEDULE). */
  maintenanceSchedule: string;
}

/**
 * What the triggers are declared with, read as config/index.ts reads the
 * same params; unset or empty params take the defaults extension.yaml gives.
 */
export function triggerSettings(env: Env = process.env): TriggerSettings {
  return {
    mailCollection: read(env, "MAIL_COLLECTION") ?? "mail",
    database: read(env, "DATABASE") ?? "(default)",
    maintenanceSchedule: read(env, "MAINTENANCE_SCHEDULE") ?? "every 1 minutes",
  };
}

export interface EventSettings {
  /** The Eventarc channel events go to; undefined when the instance publishes none. */
  channel?: string;
  /**
   * The event types the user selected. Firebase sets EXT_SELECTED_EVENTS;
   * the Extensions emulator sets ALLOWED_EVENT_TYPES. Undefined means every
   * type; empty means none.
   */
  selectedTypes?: string[];
  /** Set when running against the Eventarc emulator. */
  emulatorHost?: string;
  /** The project, for the emulator's own app. */
  projectId?: string;
}

export function eventSettings(env: Env = process.env): EventSettings {
  const selected = env.EXT_SELECTED_EVENTS ?? env.ALLOWED_EVENT_TYPES;
  return {
    channel: read(env, "EVENTARC_CHANNEL"),
    selectedTypes:
      selected === undefined
        ? undefined
        : selected
            .split(",")
            .map((type) => type.trim())
            .filter((type) => type !== ""),
    emulatorHost: read(env, "CLOUD_EVENTARC_EMULATOR_HOST"),
    projectId: env.GCLOUD_PROJECT ?? env.PROJECT_ID,
  };
}
