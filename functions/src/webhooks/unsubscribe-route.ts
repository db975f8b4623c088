/**
 * /unsubscribe?t=<token>: a POST (one-click, or the page's button) with a genuine token records `unsubscribed` and
 * suppresses the address (on the token's stream only, when it names one). A GET only shows the page: link
 * scanners fetch every link, and must unsubscribe nobody.
 */
import type { DeliveryReport } from "./delivery-report";
import { recordReports, type RecordSettings } from "./record-reports";
import type { WebhookReply, WebhookRequest } from "./webhook-provider";
import * as logs from "../shared/logs";
import { PAGE_HEADERS, unsubscribePage, type PageKind } from "../unsubscribe/unsubscribe-page";
import { verifyUnsubscribeToken } from "../unsubscribe/unsubscribe-token";

export async function handleUnsubscribe(request: WebhookRequest, signingKey: string, settings: RecordSettings, nowMs: number): Promise<WebhookReply> {
  if (request.method !== "GET" && request.method !== "POST") {
    return { status: 405, headers: { Allow: "GET, POST", "Content-Type": "text/plain; charset=utf-8" }, body: "Method not allowed\n" };
  }
  const token = new URL(request.url, "http://endpoint.invalid").searchParams.get("t");
  const claim = verifyUnsubscribeToken(signingKey, token);
  if (!claim || !settings.isMailPath(claim.mailPath)) {
    logs.webhookRefused("unsubscribe", 400, token ? "the unsubscribe token does not verify" : "no unsubscribe token");
    return page(400, "invalid");
  }
  if (request.method === "GET") return page(200, "confirm", claim.address);

  // One id per link: pressing it again changes nothing.
  const { eventId, mailPath, address, stream } = claim;
  const report: DeliveryReport = { source: "unsubscribe-link", eventId, mailPath, recipient: address, status: "unsubscribed", timeMs: nowMs, ...(stream !== undefined && { stream }) };
  try {
    await recordReports([report], settings);
  } catch (error) {
    logs.webhookFailed("unsubscribe", error);
    return page(503, "failed");
  }
  logs.unsubscribed(mailPath);
  return page(200, "done", address);
}

const page = (status: number, kind: PageKind, address?: string): WebhookReply => ({ status, headers: { ...PAGE_HEADERS }, body: unsubscribePage(kind, address) });
