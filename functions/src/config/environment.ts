/**
 * Environment variables read outside the params (config/index.ts): what the
 * platform sets for the triggers and for lifecycle events. Read on each call,
 * never cached and never throwing: a trigger must be declared and an event
 * published even when the params are invalid, and the platform may change
 * the event selection without a redeploy of this code.
 */
type Env = Record<string, string | undefined>;

export interface TriggerSettings {
  /** The collection whose writes trigger processQueue (MAIL_COLLECTION). */
  mailCollection: string;
  /** The Firestore database of that collection (DATABASE). */
  database: string;
  /** When maintainQueue runs (MAINTENANCE_SCHEDULE). */
  maintenanceSchedule: string;
}

/** What the triggers are declared with; unset or empty params take the defaults extension.yaml gives. */
export function triggerSettings(env: Env = process.env): TriggerSettings {
  return {
    mailCollection: env.MAIL_COLLECTION || "mail",
    database: env.DATABASE || "(default)",
    maintenanceSchedule: env.MAINTENANCE_SCHEDULE || "every 1 minutes",
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
    channel: env.EVENTARC_CHANNEL || undefined,
    selectedTypes:
      selected === undefined
        ? undefined
        : selected
            .split(",")
            .map((type) => type.trim())
            .filter((type) => type !== ""),
    emulatorHost: env.CLOUD_EVENTARC_EMULATOR_HOST || undefined,
    projectId: env.GCLOUD_PROJECT ?? env.PROJECT_ID,
  };
}
