/**
 * Tokens of signatures that do not cover the body (Mailgun's), accepted
 * once: `create` fails when the token's document exists, so two racing
 * requests cannot both win. `expireAt` lies past the replay window, so a TTL
 * policy may delete the documents (docs/webhooks.md).
 */
import { createHash } from "node:crypto";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import type { WebhookConfig } from "../config/webhook-params";
import { grpcStatus, statusOf } from "../shared/firestore-status";

/** Kept this long past the window, so that a clock skew between providers and Firestore cannot reopen it. */
const MARGIN_MS = 60 * 60 * 1000;

export interface UsedToken {
  /** Forgets the token: the request's reports could not be recorded, and the provider's retry must get through. */
  release(): Promise<void>;
}

/** The token claimed for this request, or undefined when it was used before. */
export async function useToken(
  db: Firestore,
  config: Pick<WebhookConfig, "tokenCollection" | "replayWindowSeconds">,
  route: string,
  replay: { token: string; signedAtMs: number },
): Promise<UsedToken | undefined> {
  const id = createHash("sha256").update(`${route}\n${replay.token}`).digest("hex");
  const ref = db.collection(config.tokenCollection).doc(id);
  const expireAt = Timestamp.fromMillis(replay.signedAtMs + config.replayWindowSeconds * 1000 + MARGIN_MS);
  try {
    await ref.create({ route, expireAt });
  } catch (error) {
    if (statusOf(error) === grpcStatus().ALREADY_EXISTS) return undefined;
    throw error;
  }
  return { release: async () => void (await ref.delete()) };
}
