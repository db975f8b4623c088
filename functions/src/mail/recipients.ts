/**
 * Recipients by user id (USERS_COLLECTION): `toUids`, `ccUids` and `bccUids` name user documents (id = uid)
 * whose `email` field is the address. Each distinct uid is read once, in one batch: `email`, and the fields
 * USER_TEMPLATE_FIELDS allows when one user's fields are given to the template (never the whole document).
 */
import type { Firestore } from "firebase-admin/firestore";
import { DeliveryError, errorText } from "../shared/errors";
import { isReservedId } from "../shared/firestore-ids";
import { isTransientStatus } from "../shared/firestore-status";

type UidLists = Record<"to" | "cc" | "bcc", string[]>;

/** Whose fields, and which, are read for the template. */
export interface ProfileRequest {
  uid: string;
  fields: readonly string[];
}

export interface ResolvedRecipients extends UidLists {
  /** Uids without a user document or a usable `email`. */
  unresolved: string[];
  /** The requested fields that the user document has; absent when it does not exist. */
  profile?: Record<string, unknown>;
}

/** Not the mail document's fault: transient by default, so an automatic retry (MAX_ATTEMPTS) may succeed. */
export const usersUnavailable = (collection: string, reason: string, transient = true): DeliveryError =>
  new DeliveryError("lookup-failed", `Could not look up recipients in '${collection}': ${reason}`, { transient });

/** A uid without a user document or a usable `email` is left out of the lists and reported once in `unresolved`. */
export async function resolveRecipients(db: Firestore, collection: string, uids: UidLists, profile?: ProfileRequest): Promise<ResolvedRecipients> {
  const distinct = [...new Set([...uids.to, ...uids.cc, ...uids.bcc])];
  const readable = distinct.filter((uid) => !isReservedId(uid));
  const emails = new Map<string, string>();
  let fields: Record<string, unknown> | undefined;
  if (readable.length > 0) {
    const users = db.collection(collection);
    let snapshots;
    try {
      const fieldMask = [...new Set(["email", ...(profile?.fields ?? [])])];
      snapshots = await db.getAll(...readable.map((uid) => users.doc(uid)), { fieldMask });
    } catch (error) {
      throw usersUnavailable(collection, errorText(error), isTransientStatus(error));
    }
    for (const snapshot of snapshots) {
      const value: unknown = snapshot.exists ? snapshot.get("email") : undefined;
      const email = typeof value === "string" ? value.trim() : "";
      // A line break could start a new header.
      if (email !== "" && !/[\r\n]/.test(email)) emails.set(snapshot.id, email);
      if (profile && snapshot.exists && snapshot.id === profile.uid) {
        fields = Object.fromEntries(profile.fields.flatMap((field) => (snapshot.get(field) === undefined ? [] : [[field, snapshot.get(field) as unknown]])));
      }
    }
  }
  const addresses = (list: string[]): string[] => list.flatMap((uid) => emails.get(uid) ?? []);
  const resolved: ResolvedRecipients = { to: addresses(uids.to), cc: addresses(uids.cc), bcc: addresses(uids.bcc), unresolved: distinct.filter((uid) => !emails.has(uid)) };
  if (fields) resolved.profile = fields;
  return resolved;
}
