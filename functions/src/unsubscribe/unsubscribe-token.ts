/**
 * The token of a one-click unsubscribe link names the recipient and the mail: nobody can make or alter one
 * without UNSUBSCRIBE_SIGNING_KEY, and nobody who sees the URL can read the address from it.
 *
 * `v2.<ciphertext>.<tag>` (base64url): JSON `[address, mail path]`, or `[address, mail path, stream]` for a mail
 * that names its stream, under AES-256-GCM, key and nonce derived from
 * the signing key with HMAC-SHA256 and purpose labels; the nonce also from the plaintext (as in SIV), so a
 * recipient of a mail always gets the same token and two claims never share a nonce. `v1.<JSON>.<HMAC>`, readable
 * but signed, is in links already sent: accepted, never produced. Only the one canonical base64url spelling
 * verifies: a respelled token (spare bits) must not count as another link.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { sameBytes } from "../shared/constant-time";
import { isStreamName } from "../suppression/streams";

export interface UnsubscribeClaim {
  /** The recipient, normalised. */
  address: string;
  /** The mail document the link was sent in. */
  mailPath: string;
  /** The mail's stream: the unsubscribe suppresses only it. Absent (links sent before streams too): every stream. */
  stream?: string;
}

/** Links stay far below URL limits; anything longer is not ours. */
const MAX_TOKEN_LENGTH = 4096;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function signUnsubscribeToken(key: string, claim: UnsubscribeClaim): string {
  const fields = claim.stream === undefined ? [claim.address, claim.mailPath] : [claim.address, claim.mailPath, claim.stream];
  const plaintext = Buffer.from(JSON.stringify(fields), "utf8");
  const nonce = derive(key, "nonce", plaintext).subarray(0, NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", derive(key, "key"), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(AAD);
  const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final()]);
  return `v2.${sealed.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}`;
}

/** A genuine token's claim and an event id derived from it; undefined for anything altered, respelled, truncated or signed with another key. */
export function verifyUnsubscribeToken(key: string, token: unknown): (UnsubscribeClaim & { eventId: string }) | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
  const [version, payload, mac, ...rest] = token.split(".");
  if (!payload || !mac || rest.length > 0 || !canonical(payload) || !canonical(mac)) return undefined;
  const claim = version === "v2" ? openV2(key, payload, mac) : version === "v1" ? openV1(key, payload, mac) : undefined;
  if (!claim) return undefined;
  const eventId = createHash("sha256").update(`${version}.${payload}.${mac}`).digest("base64url").slice(0, 27);
  return { ...claim, eventId };
}

/** The one spelling base64url gives these bytes: no padding, no spare bits set, nothing outside the alphabet. */
const canonical = (text: string): boolean => /^[A-Za-z0-9_-]+$/.test(text) && Buffer.from(text, "base64url").toString("base64url") === text;

const AAD = Buffer.from("firestore-send-email unsubscribe v2", "utf8");

const derive = (key: string, purpose: "key" | "nonce", data = Buffer.alloc(0)): Buffer =>
  createHmac("sha256", key).update(`firestore-send-email unsubscribe v2 ${purpose}`).update(data).digest();

function openV2(key: string, payload: string, mac: string): UnsubscribeClaim | undefined {
  const sealed = Buffer.from(payload, "base64url");
  const tag = Buffer.from(mac, "base64url");
  if (sealed.length <= NONCE_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", derive(key, "key"), sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    return readClaim(Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES)), decipher.final()]));
  } catch {
    return undefined;
  }
}

function openV1(key: string, payload: string, mac: string): UnsubscribeClaim | undefined {
  // The purpose prefix keeps a MAC made with this key for anything else from ever passing as a token.
  const expected = createHmac("sha256", key).update(`firestore-send-email unsubscribe v1.${payload}`).digest();
  if (!sameBytes(Buffer.from(mac, "base64url"), expected)) return undefined;
  return readClaim(Buffer.from(payload, "base64url"));
}

function readClaim(plaintext: Buffer): UnsubscribeClaim | undefined {
  let claim: unknown;
  try {
    claim = JSON.parse(plaintext.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(claim) || (claim.length !== 2 && claim.length !== 3) || typeof claim[0] !== "string" || typeof claim[1] !== "string") return undefined;
  if (claim.length === 3 && !isStreamName(claim[2])) return undefined;
  return { address: claim[0], mailPath: claim[1], ...(claim.length === 3 && { stream: claim[2] as string }) };
}
