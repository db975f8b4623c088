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
import { LEASE_EXPIRED_ERROR } from "./decide";
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
   * The fallback for recording an outcome when the cheap conditional write
   * failed because something else touched the document during the send (a
   * client editing another field, say). In a transaction:
   * - still `owned` (PROCESSING with this attempt's lease): apply `patch`;
   * - `recovered`: lease recovery already gave up on this very attempt (its
   *   lease-expired error, attempts counted once) and nothing newer started:
   *   apply `recoveredPatch`, if any, so the true result replaces the guess;
   * - otherwise a newer attempt or a person owns the document: write nothing.
   */
  async updateIfStillOwned(
    path: string,
    owner: AttemptOwner,
    patch: Patch,
    recoveredPatch?: Patch,
  ): Promise<"owned" | "recovered" | null> {
    operationCounts.transactions++;
    const ref = this.ref(path);
    return this.db.runTransaction(async (transaction) => {
      operationCounts.reads++;
      const snapshot = await transaction.get(ref);
      if (!snapshot.exists) return null;
      const state: unknown = snapshot.get("delivery.state");
      const lease: unknown = snapshot.get("delivery.leaseExpireTime");
      let verdict: "owned" | "recovered" | null = null;
      if (state === "PROCESSING" && lease instanceof Timestamp && owner.lease.isEqual(lease)) {
        verdict = "owned";
      } else if (
        recoveredPatch &&
        (state === "ERROR" || state === "PENDING") &&
        snapshot.get("delivery.error") === LEASE_EXPIRED_ERROR &&
        snapshot.get("delivery.attempts") === owner.attemptsBefore + 1 &&
        (lease === null || lease === undefined)
      ) {
        verdict = "recovered";
      }
      const chosen = verdict === "owned" ? patch : verdict === "recovered" ? recoveredPatch : undefined;
      if (!chosen) return null;
      operationCounts.writes++;
      transaction.update(ref, chosen);
      return verdict;
    });
  }
}

/** Identifies one delivery attempt: the lease it claimed, and the attempts counted before it. */
export interface AttemptOwner {
  lease: Timestamp;
  attemptsBefore: number;
}

function isLostPrecondition(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === FAILED_PRECONDITION || code === NOT_FOUND;
}
