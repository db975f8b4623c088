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

/** One user read for a message of its own (`separateMessages`): its address, and its allowed fields when asked for. */
export interface ResolvedUser {
  uid: string;
  /** Absent when the user has no document or no usable `email`. */
  email?: string;
  /** The requested fields that the user document has; absent when it does not exist or none were asked for. */
  profile?: Record<string, unknown>;
}

/**
 * Each uid's address and, with `fields`, its own allowed fields: every message names one user, so each template
 * sees that user's fields only. One batched read, as for resolveRecipients.
 */
export async function resolveEach(db: Firestore, collection: string, uids: readonly string[], fields: readonly string[] = []): Promise<ResolvedUser[]> {
  const readable = [...new Set(uids)].filter((uid) => !isReservedId(uid));
  const found = new Map<string, ResolvedUser>();
  if (readable.length > 0) {
    const users = db.collection(collection);
    let snapshots;
    try {
      snapshots = await db.getAll(...readable.map((uid) => users.doc(uid)), { fieldMask: [...new Set(["email", ...fields])] });
    } catch (error) {
      throw usersUnavailable(collection, errorText(error), isTransientStatus(error));
    }
    for (const snapshot of snapshots) {
      const user: ResolvedUser = { uid: snapshot.id };
      const email = snapshot.exists ? usableEmail(snapshot.get("email")) : undefined;
      if (email !== undefined) user.email = email;
      if (snapshot.exists && fields.length > 0) user.profile = Object.fromEntries(fields.flatMap((field) => (snapshot.get(field) === undefined ? [] : [[field, snapshot.get(field) as unknown]])));
      found.set(snapshot.id, user);
    }
  }
  return uids.map((uid) => found.get(uid) ?? { uid });
}

/** A user's `email` as an address, or undefined: a line break could start a new header. */
function usableEmail(value: unknown): string | undefined {
  const email = typeof value === "string" ? value.trim() : "";
  return email !== "" && !/[\r\n]/.test(email) ? email : undefined;
}

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
      const email = snapshot.exists ? usableEmail(snapshot.get("email")) : undefined;
      if (email !== undefined) emails.set(snapshot.id, email);
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
