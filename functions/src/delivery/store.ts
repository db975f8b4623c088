/**
 * The only code that writes mail documents. Every write is conditioned on the
 * update time this invocation last saw, so a stale or duplicate trigger (they
 * come at least once, in any order) fails its write, and exactly one of
 * concurrent claimants wins; a lost write returns `null`. Faults must not turn
 * into false losses: a write of unknown outcome (a timeout, or a failed
 * precondition, which is also what the library's hidden retry of an applied
 * write looks like) is resolved by reading the document for the write's own
 * `Mark`. Transient failures are retried with bounded backoff (shared/budget.ts).
 */
import { Timestamp, type DocumentReference, type Firestore, type DocumentSnapshot, type Query, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { OUTCOME_RETRY_BUDGET_MS, STORE_BACKOFF_MS, WRITE_RETRY_BUDGET_MS } from "../shared/budget";
import { isTransientStatus } from "../shared/firestore-status";
import { LEASE_EXPIRED_ERROR } from "./delivery-field";
import type { Patch } from "./patches";
import { writeOutcome, type Mark } from "./write-outcome";

export type { Mark } from "./write-outcome";

/** Firestore operations one store made: what the benchmark reports per email. */
export interface OperationCounts {
  /** Write calls, landed or lost (`lostWrites`). */
  writes: number;
  lostWrites: number;
  reads: number;
  transactions: number;
}

/** Replaceable in unit tests. */
export interface StoreTiming {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const realTiming: StoreTiming = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), random: Math.random };

/** Attempts per write in `updateManyIf`, its first call included. */
const BULK_ATTEMPTS = 5;

/** Identifies one delivery attempt: its id, and the attempts counted before it. */
export type AttemptOwner = { attemptId: string; attemptsBefore: number };

type Verdict = "owned" | "requested" | "recovered";
/** One candidate outcome write: its patch and how to recognise the version it produces. */
type OutcomeWrite = { patch: Patch; mark: Mark };
/** What to record for an attempt, by what happened to its document meanwhile (see recordOutcome). */
export type OutcomeWrites = { owned: OutcomeWrite; requested: OutcomeWrite; recovered?: OutcomeWrite };

export class MailStore {
  readonly counts: OperationCounts = { writes: 0, lostWrites: 0, reads: 0, transactions: 0 };

  constructor(readonly db: Firestore, private readonly timing: StoreTiming = realTiming) {}

  /**
   * Applies `patch` if the document was last updated at `updateTime`: the
   * update time of the version written (or read back carrying `mark`), or
   * null when something else wrote first. Without a `mark`, a write of
   * unknown outcome counts as lost.
   */
  async updateIf(path: string, patch: Patch, updateTime: Timestamp, mark?: Mark, budgetMs = WRITE_RETRY_BUDGET_MS): Promise<Timestamp | null> {
    const ref = this.db.doc(path);
    const backOff = this.backoff(budgetMs);
    // Calls of this write that failed: any of them may have applied.
    let failedCalls = 0;
    const settle = <T>(result: T, landedUnseen = false): T => {
      this.counts.lostWrites += failedCalls - (landedUnseen ? 1 : 0);
      return result;
    };
    for (;;) {
      this.counts.writes++;
      let failure: unknown;
      try {
        return settle((await ref.update(patch, { lastUpdateTime: updateTime })).writeTime);
      } catch (error) {
        failure = error;
      }
      failedCalls++;
      const outcome = writeOutcome(failure);
      if (outcome === "failed") throw settle(failure);
      if (outcome === "lost" || (outcome === "ambiguous-loss" && !mark)) return settle(null);
      if (mark) {
        // A read that fails says nothing about whether the write applied: read again.
        let seen = await this.readBack(ref, updateTime, mark);
        while (seen === "unreadable" && (await backOff())) seen = await this.readBack(ref, updateTime, mark);
        if (seen instanceof Timestamp) return settle(seen, true);
        // Whether the write applied stays unknown: a failure of this call, not a lost race.
        if (seen === "unreadable") throw settle(failure);
        // Not applied, and the precondition failed or can no longer hold.
        if (outcome === "ambiguous-loss" || seen !== "unchanged") return settle(null);
      }
      // Transient and not applied: the same conditional write again.
      if (!(await backOff())) throw settle(failure);
    }
  }

  /**
   * One page of the sweep: `query`'s documents whose `field` is at or before
   * `upTo`, in its order, after `after`, with only `fields` read (a page of
   * whole mails could be hundreds of megabytes; `fields` holds `field` for the cursor).
   */
  async duePage(query: Query, field: string, upTo: Timestamp, fields: readonly string[], limit: number, after?: QueryDocumentSnapshot): Promise<QueryDocumentSnapshot[]> {
    let page = query.where(field, "<=", upTo).orderBy(field).select(...fields).limit(limit);
    if (after) page = page.startAfter(after);
    const snapshot = await page.get();
    // Firestore bills a query that returns nothing as one read.
    this.counts.reads += Math.max(1, snapshot.size);
    return snapshot.docs;
  }

  /** Whole documents, in the order of `paths` (a missing one comes back as not existing). */
  async readMany(paths: readonly string[]): Promise<DocumentSnapshot[]> {
    if (paths.length === 0) return [];
    this.counts.reads += paths.length;
    return this.db.getAll(...paths.map((path) => this.db.doc(path)));
  }

  /**
   * The sweep's independent conditional writes, through a BulkWriter; a failed one is left for the next sweep.
   * No read-back: overlapping sweeps write identical patches, so a lost answer only costs its lifecycle events (better than publishing them twice).
   */
  async updateManyIf(writes: Array<{ path: string; patch: Patch; updateTime: Timestamp }>): Promise<Array<Timestamp | null>> {
    if (writes.length === 0) return [];
    const writer = this.db.bulkWriter();
    writer.onWriteError((error) => isTransientStatus(error) && error.failedAttempts < BULK_ATTEMPTS);
    this.counts.writes += writes.length;
    const results = writes.map(({ path, patch, updateTime }) =>
      writer.update(this.db.doc(path), patch, { lastUpdateTime: updateTime }).then(
        (result): Timestamp | null => result.writeTime,
        () => {
          this.counts.lostWrites++;
          return null;
        },
      ),
    );
    await writer.close();
    return Promise.all(results);
  }

  /**
   * Records an attempt's outcome when the cheap conditional write did not
   * land, in a transaction retried for OUTCOME_RETRY_BUDGET_MS:
   * - an outcome version already there (an earlier call landed): nothing;
   * - `owned`: PROCESSING under this attempt;
   * - `requested`: a person wrote RETRY or PENDING over the running attempt;
   * - `recovered`: lease recovery ended this very attempt and nothing newer
   *   started: the true result replaces the guess;
   * - otherwise a newer attempt or a person owns the mail: nothing.
   */
  async recordOutcome(path: string, owner: AttemptOwner, writes: OutcomeWrites): Promise<Verdict | null> {
    const ref = this.db.doc(path);
    const backOff = this.backoff(OUTCOME_RETRY_BUDGET_MS);
    for (;;) {
      this.counts.transactions++;
      try {
        return await this.db.runTransaction(async (transaction) => {
          this.counts.reads++;
          const snapshot = await transaction.get(ref);
          if (!snapshot.exists) return null;
          const data = snapshot.data() ?? {};
          for (const verdict of ["owned", "requested", "recovered"] as const) {
            if (writes[verdict]?.mark(data)) return verdict;
          }
          if (snapshot.get("delivery.attemptId") !== owner.attemptId) return null;
          const state: unknown = snapshot.get("delivery.state");
          const leased = snapshot.get("delivery.leaseExpireTime") instanceof Timestamp;
          let verdict: Verdict | null = null;
          if (leased && state === "PROCESSING") verdict = "owned";
          else if (leased && (state === "RETRY" || state === "PENDING")) verdict = "requested";
          else if (!leased && state === "ERROR" && snapshot.get("delivery.error") === LEASE_EXPIRED_ERROR && snapshot.get("delivery.attempts") === owner.attemptsBefore + 1) {
            verdict = "recovered";
          }
          const chosen = verdict && writes[verdict];
          if (!chosen) return null;
          this.counts.writes++;
          transaction.update(ref, chosen.patch);
          return verdict;
        });
      } catch (error) {
        if (!isTransientStatus(error) || !(await backOff())) throw error;
      }
    }
  }

  /**
   * Writes a whole document that belongs to this attempt alone (the archive of what it sent, named by its attempt
   * id): no precondition, as a repeat writes the same data. One write; the client library's own retries only.
   */
  async writeDocument(path: string, data: Record<string, unknown>): Promise<void> {
    this.counts.writes++;
    await this.db.doc(path).set(data);
  }

  /** After a write of unknown outcome: the update time if the document carries `mark`, else why not. */
  private async readBack(ref: DocumentReference, updateTime: Timestamp, mark: Mark): Promise<Timestamp | "other" | "unchanged" | "unreadable"> {
    this.counts.reads++;
    let snapshot;
    try {
      snapshot = await ref.get();
    } catch {
      return "unreadable";
    }
    if (!snapshot.exists || !snapshot.updateTime) return "other";
    if (mark(snapshot.data() ?? {})) return snapshot.updateTime;
    return snapshot.updateTime.isEqual(updateTime) ? "unchanged" : "other";
  }

  /** Waits a jittered, doubling backoff from STORE_BACKOFF_MS; false, without waiting, once it would pass `budgetMs` from now. */
  private backoff(budgetMs: number): () => Promise<boolean> {
    const deadline = this.timing.now() + budgetMs;
    let wait = STORE_BACKOFF_MS.first;
    return async () => {
      if (this.timing.now() + wait > deadline) return false;
      await this.timing.sleep(wait * (0.5 + this.timing.random() / 2));
      wait = Math.min(wait * 2, STORE_BACKOFF_MS.max);
      return true;
    };
  }
}
