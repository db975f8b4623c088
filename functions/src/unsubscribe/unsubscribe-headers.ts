/**
 * RFC 8058 one-click unsubscribe headers for one recipient of one mail: List-Unsubscribe (a link to the endpoint,
 * and UNSUBSCRIBE_MAILTO), and List-Unsubscribe-Post, which lets mailbox providers POST to the link.
 */
import type { UnsubscribeLinks } from "../config/webhook-params";
import { normalizeAddress } from "../suppression/addresses";
import { signUnsubscribeToken } from "./unsubscribe-token";

export const UNSUBSCRIBE_PATH = "/unsubscribe";

/** `stream`: the mail's, carried in the token so that the link unsubscribes from that stream only. */
export function unsubscribeHeaders(settings: Omit<UnsubscribeLinks, "byDefault">, mailPath: string, address: string, stream?: string): Record<string, string> {
  const normalized = normalizeAddress(address);
  if (!normalized) throw new Error("An unsubscribe link needs a valid recipient address");
  const token = signUnsubscribeToken(settings.signingKey, { address: normalized, mailPath, ...(stream !== undefined && { stream }) });
  const targets = [`<${settings.endpointUrl.replace(/\/+$/, "")}${UNSUBSCRIBE_PATH}?t=${token}>`];
  if (settings.mailto) targets.push(`<mailto:${settings.mailto}?subject=unsubscribe>`);
  return { "List-Unsubscribe": targets.join(", "), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}
