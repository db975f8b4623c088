/**
 * The HTTPS endpoint for providers' event callbacks and one-click
 * unsubscribe links. One path per provider; each request is authenticated
 * the provider's way before its body is used, and the answer follows what
 * providers retry on:
 * - 2xx once the events are durably recorded, or deliberately ignored (not
 *   sent by this extension, or not delivery news), so they are not retried;
 * - 401/403 for missing or wrong credentials and signatures, stale timestamps,
 *   a Mailgun token already used;
 * - 400 for a body the provider would never send, 413 for an oversized one;
 * - 404 for a provider whose key is not configured, 405 for other methods;
 * - 500 when Firestore failed: the provider retries, and recording is idempotent.
 */
import { handleUnsubscribe } from "./unsubscribe-route";
import { UNSUBSCRIBE_PATH } from "../unsubscribe/unsubscribe-headers";
import { recordReports, type RecordSettings } from "./record-reports";
import { useToken, type UsedToken } from "./used-tokens";
import { header, MalformedBody, type ProviderWebhook, type WebhookReply, type WebhookRequest } from "./webhook-provider";
import type { WebhookConfig } from "../config/webhook-params";
import * as logs from "../shared/logs";

/** A sender profile's webhook keys, and which mail is its tenant's. */
export interface ProfileWebhooks {
  config: WebhookConfig;
  owns(mailPath: string): boolean;
}

export interface WebhookEndpoint {
  config: WebhookConfig;
  /** With sender profiles: `/<provider>/<profile>` is checked with that profile's keys and records only its tenant's mail. */
  profile?(id: string): Promise<ProfileWebhooks | undefined>;
  /** The provider webhooks this instance knows (see providers' selection module). */
  providers: readonly ProviderWebhook[];
  /** Firestore and where to write; only built when a request needs it. */
  settings(): RecordSettings;
  now?: () => number;
}

export async function handleWebhook(request: WebhookRequest, endpoint: WebhookEndpoint): Promise<WebhookReply> {
  const { config } = endpoint;
  const nowMs = (endpoint.now ?? Date.now)();
  const route = new URL(request.url, "http://endpoint.invalid").pathname.replace(/\/+$/, "");

  if (route === UNSUBSCRIBE_PATH) {
    if (!config.unsubscribeSigningKey || !config.suppressionCollection) return text(404, "Not found");
    return handleUnsubscribe(request, config.unsubscribeSigningKey, endpoint.settings(), nowMs);
  }
  const [name, profileId, ...rest] = route.slice(1).split("/");
  const provider = endpoint.providers.find((candidate) => candidate.route === name);
  let profile: ProfileWebhooks | undefined;
  try {
    profile = profileId === undefined || rest.length > 0 ? undefined : await endpoint.profile?.(profileId);
  } catch (error) {
    // Firestore or Secret Manager failed for now: the provider retries.
    logs.webhookFailed(route.slice(1), error);
    return text(500, "Events could not be recorded; please retry");
  }
  if (profileId !== undefined && !profile) return text(404, "Not found");
  const keys = profile?.config ?? config;
  if (!provider || !provider.configured(keys)) return text(404, "Not found");
  if (request.method !== "POST") return { ...text(405, "Method not allowed"), headers: { ...plain, Allow: "POST" } };
  const declared = Number(header(request, "content-length") ?? 0);
  const limit = Math.min(config.maxBodyBytes, provider.maxBodyBytes ?? Infinity);
  if (request.rawBody.length > limit || declared > limit) {
    logs.webhookRefused(provider.route, 413, `body larger than ${limit} bytes`);
    return text(413, "Payload too large");
  }

  const verdict = provider.authenticate(request, keys, nowMs);
  if (!verdict.ok) {
    logs.webhookRefused(provider.route, verdict.status, verdict.reason);
    return { status: verdict.status, headers: { ...plain, ...verdict.headers }, body: `${REFUSED[verdict.status]}\n` };
  }

  const replay = verdict.replay;
  let claim: UsedToken | undefined;
  if (replay) {
    try {
      claim = await useToken(endpoint.settings().db, config, route.slice(1), replay);
    } catch (error) {
      logs.webhookFailed(provider.route, error);
      return text(500, "Events could not be recorded; please retry");
    }
    if (!claim) {
      logs.webhookRefused(provider.route, 403, "signature token already used");
      return { status: 403, headers: { ...plain }, body: `${REFUSED[403]}\n` };
    }
  }

  let parsed;
  try {
    parsed = provider.parse(JSON.parse(request.rawBody.toString("utf8")), keys);
  } catch (error) {
    const reason = error instanceof MalformedBody ? error.message : "the body is not JSON";
    logs.webhookRefused(provider.route, 400, reason);
    return text(400, `Bad request: expected ${reason.replace(/^the body is not JSON$/, "a JSON body")}`);
  }
  // Opens and clicks are acknowledged but not written unless asked for: they are most of the volume.
  const reports = config.trackOpensAndClicks ? parsed.reports : parsed.reports.filter((r) => r.status !== "opened" && r.status !== "clicked");
  const ignored = parsed.ignored + parsed.reports.length - reports.length;

  try {
    const base = endpoint.settings();
    // A profile's keys vouch for its own tenant's mail only.
    const isMailPath = profile ? (path: string) => base.isMailPath(path) && profile.owns(path) : base.isMailPath;
    const settings = { ...base, isMailPath, onRejected: (count: number, error: unknown) => logs.webhookReportsRejected(provider.route, count, error) };
    const report = await recordReports(reports, settings);
    logs.webhookUntracked(provider.route, report.untracked);
    logs.webhookRecorded(provider.route, { ...report, ignored });
    const left = report.untracked + report.missing + report.strangers + report.rejected;
    const summary = { recorded: report.recorded, duplicates: report.duplicates, ignored: ignored + left };
    return { status: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(summary) };
  } catch (error) {
    logs.webhookFailed(provider.route, error);
    // The provider retries, possibly with the same token: let it through then.
    await claim?.release().catch(() => undefined);
    return text(500, "Events could not be recorded; please retry");
  }
}

const plain = { "Content-Type": "text/plain; charset=utf-8" };
/** Refusals say no more than their status: the reason is logged, never told to the caller. */
const REFUSED = { 400: "Bad request", 401: "Unauthorized", 403: "Forbidden" } as const;

function text(status: number, body: string): WebhookReply {
  return { status, headers: { ...plain }, body: `${body}\n` };
}
