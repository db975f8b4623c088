/**
 * The only code that writes mail documents. Every write is conditioned on
 * the document's last update time as seen in the triggering event (or as
 * returned by this invocation's previous write), so that:
 * - a stale or duplicate event fails its write and stops (Cloud Functions
 *   delivers events at least once, in any order), and
 * - exactly one of several concurrent claimants wins, without a read.
 * A lost write is an expected outcome, returned as `null`, not an error.
 */
import {
  DocumentReference,
  Firestore,
  Timestamp,
} from "firebase-admin/firestore";
import type { Patch } from "./patches";

/** gRPC codes Firestore uses when a precondition does not hold. */
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/** Counts of the Firestore operations this process made, for the benchmark. */
export const operationCounts = { writes: 0, lostWrites: 0, reads: 0, transactions: 0 };

export class MailStore {
  constructor(readonly db: Firestore) {}

  ref(path: string): DocumentReference {
    return this.db.doc(path);
  }

  /**
   * Applies `patch` if the document was last updated at `updateTime`.
   * Returns the new update time, or null when something else wrote first.
   */
  async updateIf(path: string, patch: Patch, updateTime: Timestamp): Promise<Timestamp | null> {
    operationCounts.writes++;
    try {
      const result = await this.ref(path).update(patch, { lastUpdateTime: updateTime });
      return result.writeTime;
    } catch (error) {
      if (isLostPrecondition(error)) {
        operationCounts.lostWrites++;
        return null;
      }
      throw error;
    }
  }

  /**
   * Applies `patch` only while the attempt that holds `lease` still owns the
   * document: state PROCESSING with exactly that lease. Used when the cheap
   * conditional write failed because something else touched the document
   * (a client editing another field, say) during the send.
   */
  async updateIfLeaseHeld(path: string, patch: Patch, lease: Timestamp): Promise<boolean> {
    operationCounts.transactions++;
    const ref = this.ref(path);
    return this.db.runTransaction(async (transaction) => {
      operationCounts.reads++;
      const snapshot = await transaction.get(ref);
      const current: unknown = snapshot.exists ? snapshot.get("delivery.leaseExpireTime") : undefined;
      const held =
        snapshot.get("delivery.state") === "PROCESSING" && current instanceof Timestamp && lease.isEqual(current);
      if (!held) return false;
      operationCounts.writes++;
      transaction.update(ref, patch);
      return true;
    });
  }
}

function isLostPrecondition(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === FAILED_PRECONDITION || code === NOT_FOUND;
}
