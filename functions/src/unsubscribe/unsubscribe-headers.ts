/**
 * The RFC 8058 one-click unsubscribe headers for one recipient of one mail:
 * List-Unsubscribe with an HTTPS link to the extension's endpoint (and a
 * mailto: address when configured), and List-Unsubscribe-Post, which tells
 * mailbox providers they may POST to the link without showing a page.
 */
import { normalizeAddress } from "../suppression/addresses";
import { signUnsubscribeToken } from "./unsubscribe-token";

export interface UnsubscribeSettings {
  /** UNSUBSCRIBE_SIGNING_KEY. */
  signingKey: string;
  /** The endpoint's public URL, without a trailing slash (the webhooks function's URL). */
  endpointUrl: string;
  /** UNSUBSCRIBE_MAILTO: an optional mailbox for clients that only support mailto:. Nothing here reads it. */
  mailto?: string;
}

export const UNSUBSCRIBE_PATH = "/unsubscribe";

/** The link for `address` in the mail at `mailPath`. */
function unsubscribeUrl(settings: UnsubscribeSettings, mailPath: string, address: string): string {
  const normalized = normalizeAddress(address);
  if (!normalized) throw new Error("An unsubscribe link needs a valid recipient address");
  const token = signUnsubscribeToken(settings.signingKey, { address: normalized, mailPath });
  return `${settings.endpointUrl.replace(/\/+$/, "")}${UNSUBSCRIBE_PATH}?t=${token}`;
}

export function unsubscribeHeaders(settings: UnsubscribeSettings, mailPath: string, address: string): Record<string, string> {
  const targets = [`<${unsubscribeUrl(settings, mailPath, address)}>`];
  if (settings.mailto) targets.push(`<mailto:${settings.mailto}?subject=unsubscribe>`);
  return {
    "List-Unsubscribe": targets.join(", "),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}
