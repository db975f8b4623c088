/**
 * Recipients by user id (USERS_COLLECTION): `toUids`, `ccUids` and `bccUids` name user documents (id = uid)
 * whose `email` field is the address. Each distinct uid is read once, in one batch, `email` only.
 */
import type { Firestore } from "firebase-admin/firestore";
import { DeliveryError, errorText } from "../shared/errors";
import { isReservedId } from "../shared/firestore-ids";
import { isTransientStatus } from "../shared/firestore-status";

type UidLists = Record<"to" | "cc" | "bcc", string[]>;

/** Not the mail document's fault: transient by default, so an automatic retry (MAX_ATTEMPTS) may succeed. */
export const usersUnavailable = (collection: string, reason: string, transient = true): DeliveryError =>
  new DeliveryError("lookup-failed", `Could not look up recipients in '${collection}': ${reason}`, { transient });

/** A uid without a user document or a usable `email` is left out of the lists and reported once in `unresolved`. */
export async function resolveRecipients(db: Firestore, collection: string, uids: UidLists): Promise<UidLists & { unresolved: string[] }> {
  const distinct = [...new Set([...uids.to, ...uids.cc, ...uids.bcc])];
  const readable = distinct.filter((uid) => !isReservedId(uid));
  const emails = new Map<string, string>();
  if (readable.length > 0) {
    const users = db.collection(collection);
    let snapshots;
    try {
      snapshots = await db.getAll(...readable.map((uid) => users.doc(uid)), { fieldMask: ["email"] });
    } catch (error) {
      throw usersUnavailable(collection, errorText(error), isTransientStatus(error));
    }
    for (const snapshot of snapshots) {
      const value: unknown = snapshot.exists ? snapshot.get("email") : undefined;
      const email = typeof value === "string" ? value.trim() : "";
      // A line break could start a new header.
      if (email !== "" && !/[\r\n]/.test(email)) emails.set(snapshot.id, email);
    }
  }
  const addresses = (list: string[]): string[] => list.flatMap((uid) => emails.get(uid) ?? []);
  return { to: addresses(uids.to), cc: addresses(uids.cc), bcc: addresses(uids.bcc), unresolved: distinct.filter((uid) => !emails.has(uid)) };
}
