/**
 * Lifecycle events: when the extension instance was installed with an
 * Eventarc channel, each delivery transition is published there as
 * `firebase.extensions.firestore-send-email.v1.<type>`, with the mail
 * document's id as the CloudEvent subject and an `EventData` payload.
 *
 * Beside the documented fields, the payload carries the original
 * extension's `doc` (and `err` on onError), so that handlers written for it
 * keep working.
 *
 * Publishing is best effort: a failure (or a publish that takes too long) is
 * logged and never changes the delivery outcome. Instances without a channel
 * never load the Eventarc client, which keeps their cold start unchanged.
 */
import type { App } from "firebase-admin/app";
import type { Channel } from "firebase-admin/eventarc";
import { withoutSecrets, type DocumentVersion } from "./event-document";
import * as logs from "./logs";
import { dataJson, snapshotJson } from "./snapshot-json";
import type { DeliveryInfo } from "./types";

export type LifecycleEvent = "onStart" | "onPending" | "onRetry" | "onProcessing" | "onSuccess" | "onError" | "onComplete";

/** The payload of every lifecycle event: plain JSON, the same fields for every type. */
export interface EventData {
  /** The mail document's full path, e.g. `mail/abc123`. */
  path: string;
  /** The mail document's id, also the CloudEvent subject. */
  documentId: string;
  /** `delivery.state` after the transition, or null before there is one (onStart). */
  state: string | null;
  /** `delivery.attempts` after the transition, or null when unknown. */
  attempts: number | null;
  /** The failure text written to `delivery.error` (onError, and onComplete after one), else null. */
  error: string | null;
  /** `delivery.info` after a success, else null. */
  info: DeliveryInfo | null;
}

/**
 * The payload as published: the documented fields plus the original's.
 * `doc` is the document as the transition's write left it, in the form the
 * original gave that event type (see `docFor`), with attachment
 * `httpHeaders` values redacted. `err` (onError only) is the text written to
 * `delivery.error`.
 */
export type EventPayload = Omit<EventData, "info"> & {
  info: Record<string, unknown> | null;
  doc?: Record<string, unknown>;
  err?: string | null;
};

/** The event types whose `doc` the original gave as a serialised `DocumentSnapshot`; the rest get the document's data. */
const SNAPSHOT_FORM: ReadonlySet<LifecycleEvent> = new Set(["onStart", "onProcessing", "onSuccess", "onComplete"]);

export const EVENT_TYPE_PREFIX = "firebase.extensions.firestore-send-email.v1.";

/** A slow Eventarc must not hold a delivery's invocation for long. */
const PUBLISH_TIMEOUT_MS = 10_000;

/** An app of its own in emulator mode, where it carries a dummy credential. */
const EMULATOR_APP_NAME = "firestore-send-email-events";

let cached: { key: string; channel: Channel } | undefined;

/** Whether events are published at all; without a channel nothing is built for them. */
export function eventsEnabled(): boolean {
  return Boolean(process.env.EVENTARC_CHANNEL);
}

/**
 * Publishes `firebase.extensions.firestore-send-email.v1.<type>` with
 * subject = documentId, if the instance has a channel and the event type is
 * selected; never throws (a failure is logged). `document` is the version of
 * the mail document the transition produced, published as `doc`.
 */
export async function publishEvent(type: LifecycleEvent, data: EventData, document?: DocumentVersion): Promise<void> {
  const channelName = process.env.EVENTARC_CHANNEL;
  if (!channelName) return;
  const eventType = `${EVENT_TYPE_PREFIX}${type}`;
  const selected = selectedEventTypes();
  if (selected && !selected.includes(eventType)) return;

  let timer: NodeJS.Timeout | undefined;
  try {
    const channel = await getChannel(channelName, selected);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
    });
    await Promise.race([channel.publish({ type: eventType, subject: data.documentId, data: payload(type, data, document) }), timeout]);
  } catch (error) {
    logs.eventPublishFailed(eventType, data.path, error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The event types the instance's user selected. Firebase sets
 * EXT_SELECTED_EVENTS; the Extensions emulator sets ALLOWED_EVENT_TYPES.
 * Unset means every type; set but empty means none.
 */
function selectedEventTypes(): string[] | undefined {
  const value = process.env.EXT_SELECTED_EVENTS ?? process.env.ALLOWED_EVENT_TYPES;
  if (value === undefined) return undefined;
  return value
    .split(",")
    .map((type) => type.trim())
    .filter((type) => type !== "");
}

/** The channel, built on first use and again whenever its settings change; a failed build is not cached. */
async function getChannel(name: string, allowedEventTypes: string[] | undefined): Promise<Channel> {
  const key = `${name}|${allowedEventTypes?.join(",") ?? "*"}`;
  if (cached?.key === key) return cached.channel;
  const { getEventarc } = await import("firebase-admin/eventarc");
  const app = await eventarcApp();
  const channel = getEventarc(app).channel(name, allowedEventTypes ? { allowedEventTypes } : {});
  cached = { key, channel };
  return channel;
}

/**
 * The default app in production. Against the Eventarc emulator the Admin SDK
 * still asks for an OAuth token, which an emulator machine cannot get, so
 * there a separate app carries a credential with a dummy token.
 */
async function eventarcApp(): Promise<App> {
  const { getApps, initializeApp } = await import("firebase-admin/app");
  // Created first, so that code taking the first app (runtime.ts) keeps getting the default one.
  const defaultApp = getApps().find((app) => app.name === "[DEFAULT]") ?? initializeApp();
  if (!process.env.CLOUD_EVENTARC_EMULATOR_HOST) return defaultApp;
  const existing = getApps().find((app) => app.name === EMULATOR_APP_NAME);
  if (existing) return existing;
  return initializeApp(
    {
      projectId: process.env.GCLOUD_PROJECT ?? process.env.PROJECT_ID,
      credential: {
        getAccessToken: async () => ({ access_token: "emulator-owner", expires_in: 3600 }),
      },
    },
    EMULATOR_APP_NAME,
  );
}

/** A copy made only of JSON values, whatever the caller passed (a Firestore object would not serialise). */
function payload(type: LifecycleEvent, data: EventData, document: DocumentVersion | undefined): EventPayload {
  const info = data.info
    ? {
        messageId: data.info.messageId ?? null,
        accepted: [...(data.info.accepted ?? [])],
        rejected: [...(data.info.rejected ?? [])],
        pending: [...(data.info.pending ?? [])],
        response: data.info.response ?? null,
      }
    : null;
  const out: EventPayload = {
    path: data.path,
    documentId: data.documentId,
    state: data.state,
    attempts: data.attempts,
    error: data.error,
    info,
  };
  const doc = document && docFor(type, document, data.path);
  if (doc) out.doc = doc;
  if (type === "onError") out.err = data.error;
  return out;
}

/** `doc` in the original's form for `type`; a document that cannot be serialised is left out, not the event. */
function docFor(type: LifecycleEvent, document: DocumentVersion, path: string): Record<string, unknown> | undefined {
  try {
    const shown = { ...document, data: withoutSecrets(document.data) };
    return SNAPSHOT_FORM.has(type) ? snapshotJson(shown) : dataJson(shown.data);
  } catch (error) {
    logs.unexpectedError(path, error);
    return undefined;
  }
}

/** For tests: forget the cached channel. */
export function resetEventsForTests(): void {
  cached = undefined;
}
