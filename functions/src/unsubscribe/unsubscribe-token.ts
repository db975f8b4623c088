/**
 * The token in a one-click unsubscribe link: it names the recipient and the
 * mail, and carries an HMAC-SHA256 over both with UNSUBSCRIBE_SIGNING_KEY, so
 * nobody can make one for another address or alter one without the key.
 * Form: `v1.<base64url JSON [address, mail path]>.<base64url MAC>`.
 */
import { createHmac } from "node:crypto";
import { sameBytes } from "../webhooks/constant-time";

export interface UnsubscribeClaim {
  /** The recipient, normalised. */
  address: string;
  /** The mail document the link was sent in. */
  mailPath: string;
}

const VERSION = "v1";
/** Links stay far below URL limits; anything longer is not ours. */
const MAX_TOKEN_LENGTH = 4096;

export function signUnsubscribeToken(key: string, claim: UnsubscribeClaim): string {
  const payload = Buffer.from(JSON.stringify([claim.address, claim.mailPath]), "utf8").toString("base64url");
  return `${VERSION}.${payload}.${mac(key, payload).toString("base64url")}`;
}

/** The claim of a genuine token; undefined for anything altered, truncated or signed with another key. */
export function verifyUnsubscribeToken(key: string, token: unknown): UnsubscribeClaim | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
  const [version, payload, signature, ...rest] = token.split(".");
  if (version !== VERSION || !payload || !signature || rest.length > 0) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return undefined;
  if (!sameBytes(Buffer.from(signature, "base64url"), mac(key, payload))) return undefined;
  let claim: unknown;
  try {
    claim = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(claim) || claim.length !== 2 || typeof claim[0] !== "string" || typeof claim[1] !== "string") return undefined;
  return { address: claim[0], mailPath: claim[1] };
}

function mac(key: string, payload: string): Buffer {
  // The purpose prefix keeps a MAC made with this key for anything else from ever passing as a token.
  return createHmac("sha256", key).update(`firestore-send-email unsubscribe ${VERSION}.${payload}`).digest();
}
