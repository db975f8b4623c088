/**
 * The send path's view of SUPPRESSION_COLLECTION: one batched read of one document per address. Deleting an
 * address's document lifts its suppression; deleting `streams.<name>` lifts one stream's (suppression/streams.ts).
 */
import type { Firestore } from "firebase-admin/firestore";
import { normalizeAddress, suppressionDocId } from "./addresses";
import { SCOPE_FIELDS, suppressesStream } from "./streams";

/**
 * The subset of `addresses` that is suppressed for a mail on `stream` (undefined: the mail names none), as given
 * (not normalised), in their order.
 */
export async function suppressedRecipients(db: Firestore, collection: string, addresses: readonly string[], stream?: string): Promise<string[]> {
  const byId = new Map<string, string[]>();
  for (const address of addresses) {
    const normalized = normalizeAddress(address);
    if (!normalized) continue;
    const id = suppressionDocId(normalized);
    byId.set(id, [...(byId.get(id) ?? []), address]);
  }
  if (byId.size === 0) return [];
  const refs = [...byId.keys()].map((id) => db.collection(collection).doc(id));
  // Only the fields that say which streams a document stops are read, never the rest of the entry.
  const snapshots = await db.getAll(...refs, { fieldMask: [...SCOPE_FIELDS] });
  const suppressed = new Set(snapshots.filter((s) => s.exists && suppressesStream(s.data() ?? {}, stream)).flatMap((s) => byId.get(s.id) ?? []));
  return addresses.filter((address) => suppressed.has(address));
}
