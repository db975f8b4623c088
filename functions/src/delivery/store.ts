/**
 * The only code that writes mail documents. Every write is conditioned on
 * the document's last update time as seen in the triggering event (or as
 * returned by this invocation's previous write), so that:
 * - a stale or duplicate event fails its write and stops (Cloud Functions
 *   delivers events at least once, in any order), and
 * - exactly one of several concurrent claimants wins.
 * A lost write is an expected outcome, returned as `null`, not an error.
 *
 * Firestore faults must not turn into false losses. A write whose outcome is
 * unknown (the call timed out or the connection dropped; or its precondition
 * failed, which is also what the client library's hidden retry of a write
 * that did apply looks like) is resolved by reading the document and checking
 * for the write's own `Mark`: the claim lost by the duplicate invocation of
 * every mail costs that one read. Transient replies, and reads that fail,
 * are retried with bounded backoff (delivery/budget.ts). A precondition that really failed stays final.
 */
import {
  DocumentReference,
  Firestore,
  Timestamp,
  type DocumentSnapshot,
  type Query,
  type QueryDocumentSnapshot,
} from "firebase-admin/firestore";
import { OUTCOME_RETRY_BUDGET_MS, STORE_BACKOFF_MS, WRITE_RETRY_BUDGET_MS } from "./budget";
import { LEASE_EXPIRED_ERROR } from "./delivery-field";
import type { Patch } from "./patches";
import { isTransientStatus } from "../shared/firestore-status";
import { writeOutcome, type Mark } from "./write-outcome";

export type { Mark } from "./write-outcome";

/** Firestore operations one store made: what an email costs, as the benchmark reports it. */
export interface OperationCounts {
  /** Write calls, landed or lost. */
  writes: number;
  /** Write calls that did not land. */
  lostWrites: number;
  reads: number;
  transactions: number;
}

/** Clock and timer, replaceable in unit tests. */
export interface StoreTiming {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const realTiming: StoreTiming = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export class MailStore {
  /** Operations made through this store since it was built; read by the benchmark, never by the pipeline. */
  readonly counts: OperationCounts = { writes: 0, lostWrites: 0, reads: 0, transactions: 0 };

  constructor(
    readonly db: Firestore,
    private readonly timing: StoreTiming = realTiming,
  ) {}

  ref(path: string): DocumentReference {
    return this.db.doc(path);
  }

  /**
   * Applies `patch` if the document was last updated at `updateTime`.
   * Returns the new update time (or, when the outcome had to be read back,
   * the update time of the version that carries `mark`), or null when
   * something else wrote first. Without a `mark`, a write of unknown outcome
   * counts as lost: a caller that cannot recognise its own write accepts that.
   */
  async updateIf(path: string, patch: Patch, updateTime: Timestamp, mark?: Mark, budgetMs = WRITE_RETRY_BUDGET_MS): Promise<Timestamp | null> {
    const ref = this.ref(path);
    const deadline = this.timing.now() + budgetMs;
    let backoff = STORE_BACKOFF_MS.first;
    // Calls of this write that failed: any of them may have applied.
    let failedCalls = 0;
    const settle = <T>(result: T, landedUnseen = false): T => {
      this.counts.lostWrites += failedCalls - (landedUnseen ? 1 : 0);
      return result;
    };
    const backOff = async (): Promise<boolean> => {
      if (this.timing.now() + backoff > deadline) return false;
      await this.timing.sleep(backoff * (0.5 + this.timing.random() / 2));
      backoff = Math.min(backoff * 2, STORE_BACKOFF_MS.max);
      return true;
    };
    for (;;) {
      this.counts.writes++;
      let failure: unknown;
      try {
        const result = await ref.update(patch, { lastUpdateTime: updateTime });
        return settle(result.writeTime);
      } catch (error) {
        failedCalls++;
        failure = error;
      }
      const outcome = writeOutcome(failure);
      if (outcome === "failed") throw settle(failure);
      if (outcome === "lost" || (outcome === "ambiguous-loss" && !mark)) return settle(null);
      if (mark) {
        // A read that fails says nothing about whether the write applied: read again.
        let seen = await this.readBack(ref, updateTime, mark);
        while (seen === "unreadable" && (await backOff())) seen = await this.readBack(ref, updateTime, mark);
        if (seen instanceof Timestamp) return settle(seen, true);
        // Out of reach until the budget ended: whether the write applied is
        // unknown, which is a failure of this call, not a lost race.
        if (seen === "unreadable") throw settle(failure);
        // Not applied, and the precondition failed or can no longer hold: give up the write.
        if (outcome === "ambiguous-loss" || seen !== "unchanged") return settle(null);
      }
      // Transient and not applied: the same conditional write again.
      if (!(await backOff())) throw settle(failure);
    }
  }

  /**
   * One page of the scheduled sweep: the documents of `query` whose `field`
   * is at or before `upTo`, in the order of `field`, after `after`. Only
   * `fields` are read (a field mask, which must hold `field` for the next
   * page's cursor): the sweep decides from the delivery state alone, and a
   * page of whole mails could be hundreds of megabytes.
   */
  async duePage(
    query: Query,
    field: string,
    upTo: Timestamp,
    fields: readonly string[],
    limit: number,
    after?: QueryDocumentSnapshot,
  ): Promise<QueryDocumentSnapshot[]> {
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
    return this.db.getAll(...paths.map((path) => this.ref(path)));
  }

  /**
   * Many independent conditional writes at once (the sweep), through a
   * BulkWriter: Firestore's batched write RPC, applied per write (unlike a
   * batch, one lost precondition fails only its own write), with its own
   * throttling and retries of transient failures. Results are in the order
   * of `writes`, as for `updateIf`; a write that fails for any reason returns
   * null and its document is left for the next sweep.
   *
   * No read-back here: two overlapping sweeps write identical patches, so a
   * document cannot tell whose write it carries. A sweep write whose answer
   * was lost has the same effect as one that landed; only its lifecycle
   * events are not published, which is better than publishing them twice.
   */
  async updateManyIf(writes: ConditionalWrite[]): Promise<Array<Timestamp | null>> {
    if (writes.length === 0) return [];
    const writer = this.db.bulkWriter();
    writer.onWriteError(
      (error) => isTransientStatus(error) && error.failedAttempts < BULK_ATTEMPTS,
    );
    this.counts.writes += writes.length;
    const results = writes.map((write) =>
      writer.update(this.ref(write.path), write.patch, { lastUpdateTime: write.updateTime }).then(
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
   * Reads the document once after a write of unknown outcome: its update
   * time if it carries `mark` (the write applied), `other` if another
   * version replaced the one the write was conditioned on, `unchanged` if
   * the write did not apply and may be tried again, `unreadable` if the
   * read failed.
   */
  private async readBack(
    ref: DocumentReference,
    updateTime: Timestamp,
    mark: Mark,
  ): Promise<Timestamp | "other" | "unchanged" | "unreadable"> {
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

  /**
   * The fallback for recording an attempt's outcome when the cheap
   * conditional write did not land (something touched the document during
   * the send, or Firestore's answer was lost). In a transaction, retried
   * through transient faults for OUTCOME_RETRY_BUDGET_MS:
   * - the document already carries one of the outcome's versions (an earlier
   *   call landed): nothing to write;
   * - `owned`: PROCESSING under this attempt: its outcome;
   * - `requested`: a person wrote RETRY or PENDING over this attempt while it
   *   ran (its lease still on the document): the outcome, answering the request;
   * - `recovered`: lease recovery already ended this very attempt as expired
   *   and nothing newer started: the true result replaces the guess;
   * - otherwise a newer attempt or a person owns the document: write nothing.
   */
  async recordOutcome(path: string, owner: AttemptOwner, writes: OutcomeWrites): Promise<"owned" | "requested" | "recovered" | null> {
    const ref = this.ref(path);
    const deadline = this.timing.now() + OUTCOME_RETRY_BUDGET_MS;
    let backoff = STORE_BACKOFF_MS.first;
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
          let verdict: "owned" | "requested" | "recovered" | null = null;
          if (state === "PROCESSING" && leased) verdict = "owned";
          else if ((state === "RETRY" || state === "PENDING") && leased) verdict = "requested";
          else if (
            state === "ERROR" &&
            !leased &&
            snapshot.get("delivery.error") === LEASE_EXPIRED_ERROR &&
            snapshot.get("delivery.attempts") === owner.attemptsBefore + 1
          ) {
            verdict = "recovered";
          }
          const chosen = verdict ? writes[verdict] : undefined;
          if (!verdict || !chosen) return null;
          this.counts.writes++;
          transaction.update(ref, chosen.patch);
          return verdict;
        });
      } catch (error) {
        if (!isTransientStatus(error) || this.timing.now() + backoff > deadline) throw error;
        await this.timing.sleep(backoff * (0.5 + this.timing.random() / 2));
        backoff = Math.min(backoff * 2, STORE_BACKOFF_MS.max);
      }
    }
  }
}

/** One candidate outcome write: its patch and how to recognise the version it produces. */
export interface OutcomeWrite {
  patch: Patch;
  mark: Mark;
}

/** What to record for an attempt, by what happened to its document meanwhile (see recordOutcome). */
export interface OutcomeWrites {
  owned: OutcomeWrite;
  requested: OutcomeWrite;
  recovered?: OutcomeWrite;
}

/** One write of `updateManyIf`. */
export interface ConditionalWrite {
  path: string;
  patch: Patch;
  updateTime: Timestamp;
}

/** Attempts per write in `updateManyIf`, its first call included. */
const BULK_ATTEMPTS = 5;

/** Identifies one delivery attempt: its id, and the attempts counted before it. */
export interface AttemptOwner {
  attemptId: string;
  attemptsBefore: number;
}
