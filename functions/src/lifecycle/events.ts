/**
 * Lifecycle events: when the extension instance was installed with an
 * Eventarc channel, each delivery transition is published there as
 * `firebase.extensions.firestore-send-email.v1.<type>`, with the mail
 * document's id as the CloudEvent subject and an `EventData` payload.
 *
 * Beside the documented fields, the payload carries `doc` (and `err` on
 * onError) in the shapes existing event handlers already parse, so that
 * they keep working (docs/migration.md).
 *
 * Publishing is best effort: a failure (or a publish that takes too long) is
 * logged and never changes the delivery outcome. Instances without a channel
 * never load the Eventarc client, which keeps their cold start unchanged.
 */
import type { App } from "firebase-admin/app";
import type { Channel } from "firebase-admin/eventarc";
import { eventSettings, type EventSettings } from "../config/environment";
import { withDeadline } from "../shared/deadline";
import { withoutSecrets, type DocumentVersion } from "./written-document";
import * as logs from "../shared/logs";
import { dataJson, snapshotJson } from "./written-document";
import type { DeliveryInfo } from "../shared/types";

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
 * The payload as published: the documented fields plus `doc` and `err`.
 * `doc` is the document as the transition's write left it, in the form
 * handlers expect for that event type (see `docFor`), with attachment
 * `httpHeaders` values redacted. `err` (onError only) is the text written to
 * `delivery.error`.
 */
export type EventPayload = Omit<EventData, "info"> & {
  info: Record<string, unknown> | null;
  doc?: Record<string, unknown>;
  err?: string | null;
};

/** The event types whose `doc` handlers read as a serialised `DocumentSnapshot`; the rest get the document's data. */
const SNAPSHOT_FORM: ReadonlySet<LifecycleEvent> = new Set(["onStart", "onProcessing", "onSuccess", "onComplete"]);

const EVENT_TYPE_PREFIX = "firebase.extensions.firestore-send-email.v1.";

/** A slow Eventarc must not hold a delivery's invocation for long. */
const PUBLISH_TIMEOUT_MS = 10_000;

/** An app of its own in emulator mode, where it carries a dummy credential. */
const EMULATOR_APP_NAME = "firestore-send-email-events";

let cached: { key: string; channel: Channel } | undefined;

/** Where a batch of lifecycle events goes (event-batch.ts): Eventarc in production. */
export interface LifecyclePublisher {
  /** Whether events are published at all; when not, a batch builds nothing for them. */
  enabled(): boolean;
  /** Publishes one event; never rejects. */
  publish(type: LifecycleEvent, data: EventData, document?: DocumentVersion): Promise<void>;
}

/** Whether events are published at all; without a channel nothing is built for them. */
export function eventsEnabled(): boolean {
  return eventSettings().channel !== undefined;
}

/**
 * Publishes `firebase.extensions.firestore-send-email.v1.<type>` with
 * subject = documentId, if the instance has a channel and the event type is
 * selected; never throws (a failure is logged). `document` is the version of
 * the mail document the transition produced, published as `doc`.
 */
export async function publishEvent(type: LifecycleEvent, data: EventData, document?: DocumentVersion): Promise<void> {
  const settings = eventSettings();
  const channelName = settings.channel;
  if (!channelName) return;
  const eventType = `${EVENT_TYPE_PREFIX}${type}`;
  const selected = settings.selectedTypes;
  if (selected && !selected.includes(eventType)) return;

  try {
    const channel = await getChannel(channelName, settings, selected);
    await withDeadline(
      () => channel.publish({ type: eventType, subject: data.documentId, data: payload(type, data, document) }),
      PUBLISH_TIMEOUT_MS,
      () => new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`),
    );
  } catch (error) {
    logs.eventPublishFailed(eventType, data.path, error);
  }
}

export const eventarcPublisher: LifecyclePublisher = { enabled: eventsEnabled, publish: publishEvent };

/** The channel, built on first use and again whenever its settings change; a failed build is not cached. */
async function getChannel(name: string, settings: EventSettings, allowedEventTypes: string[] | undefined): Promise<Channel> {
  const key = `${name}|${allowedEventTypes?.join(",") ?? "*"}`;
  if (cached?.key === key) return cached.channel;
  const { getEventarc } = await import("firebase-admin/eventarc");
  const app = await eventarcApp(settings);
  const channel = getEventarc(app).channel(name, allowedEventTypes ? { allowedEventTypes } : {});
  cached = { key, channel };
  return channel;
}

/**
 * The default app in production. Against the Eventarc emulator the Admin SDK
 * still asks for an OAuth token, which an emulator machine cannot get, so
 * there a separate app carries a credential with a dummy token.
 */
async function eventarcApp(settings: EventSettings): Promise<App> {
  const { getApps, initializeApp } = await import("firebase-admin/app");
  // Created first, so that code taking the first app (runtime.ts) keeps getting the default one.
  const defaultApp = getApps().find((app) => app.name === "[DEFAULT]") ?? initializeApp();
  if (!settings.emulatorHost) return defaultApp;
  const existing = getApps().find((app) => app.name === EMULATOR_APP_NAME);
  if (existing) return existing;
  return initializeApp(
    {
      projectId: settings.projectId,
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
        // Lists shortened to fit the mail document say so, as delivery.info does.
        ...(data.info.truncated ? { truncated: true, counts: { ...data.info.counts } } : {}),
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

/** `doc` in the form handlers expect for `type`; a document that cannot be serialised is left out, not the event. */
function docFor(type: LifecycleEvent, document: DocumentVersion, path: string): Record<string, unknown> | undefined {
  try {
    const shown = { ...document, data: withoutSecrets(document.data) };
    return SNAPSHOT_FORM.has(type) ? snapshotJson(shown) : dataJson(shown.data);
  } catch (error) {
    logs.unexpectedError(path, error);
    return undefined;
  }
}
