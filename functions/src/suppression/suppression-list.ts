/** The send path's view of SUPPRESSION_COLLECTION; deleting an address's document lifts its suppression. */
import type { Firestore } from "firebase-admin/firestore";
import { normalizeAddress, suppressionDocId } from "./addresses";

/** The subset of `addresses` that is suppressed, as given (not normalised), in their order. */
export async function suppressedRecipients(db: Firestore, collection: string, addresses: readonly string[]): Promise<string[]> {
  const byId = new Map<string, string[]>();
  for (const address of addresses) {
    const normalized = normalizeAddress(address);
    if (!normalized) continue;
    const id = suppressionDocId(normalized);
    byId.set(id, [...(byId.get(id) ?? []), address]);
  }
  if (byId.size === 0) return [];
  const refs = [...byId.keys()].map((id) => db.collection(collection).doc(id));
  // Only existence matters: an empty field mask reads no field values.
  const snapshots = await db.getAll(...refs, { fieldMask: [] });
  const suppressed = new Set(snapshots.filter((s) => s.exists).flatMap((s) => byId.get(s.id) ?? []));
  return addresses.filter((address) => suppressed.has(address));
}
