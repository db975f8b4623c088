import { DOWNLOAD_LIMITS } from "../../../src/attachments/limits";
import {
  ARCHIVE_DEADLINE_MS,
  archiveTimeLeft,
  MIN_ARCHIVE_MS,
  CLAIM_WATCH_MS,
  downloadTimeLeft,
  FIRESTORE_CALL_TIMEOUT_MS,
  FUNCTION_TIMEOUT_MS,
  LEASE_GRACE_MS,
  LEASE_MS,
  leaseEnd,
  LOOKUP_DEADLINE_MS,
  attemptPresumedDead,
  MIN_SEND_MS,
  OUTCOME_MARGIN_MS,
  OUTCOME_RETRY_BUDGET_MS,
  SECRET_READ_DEADLINE_MS,
  SEND_DEADLINE_MS,
  sendTimeLeft,
  SMTP_TIMEOUT_CAPS,
  TOKEN_REQUEST_TIMEOUT_MS,
  WRITE_RETRY_BUDGET_MS,
} from "../../../src/shared/budget";

describe("the send window inside the processing lease", () => {
  const claimedAt = 1_700_000_000_000;
  const leaseEnds = claimedAt + LEASE_MS;

  it("a send started right after the claim keeps its full deadline", () => {
    expect(sendTimeLeft(leaseEnds, claimedAt + 100, SEND_DEADLINE_MS)).toBe(SEND_DEADLINE_MS);
  });

  it("a send started late (a slow claim write, slow lookups) is cut so that it and the outcome write end before the lease", () => {
    const start = claimedAt + 30_000;
    const left = sendTimeLeft(leaseEnds, start, SEND_DEADLINE_MS);
    expect(left).toBeLessThan(SEND_DEADLINE_MS);
    expect(start + left + OUTCOME_MARGIN_MS).toBe(leaseEnds);
  });

  it("downloads started right after the claim keep their full deadline and leave the send its minimum", () => {
    const left = downloadTimeLeft(leaseEnds, claimedAt);
    expect(left).toBeGreaterThan(DOWNLOAD_LIMITS.deadlineMs);
    expect(sendTimeLeft(leaseEnds, claimedAt + left, SEND_DEADLINE_MS)).toBe(MIN_SEND_MS);
  });

  it("near the end of the lease, less than the minimum is left for a send", () => {
    expect(sendTimeLeft(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - 1_000, SEND_DEADLINE_MS)).toBeLessThan(MIN_SEND_MS);
  });
});

describe("the budget's inequalities", () => {
  // The slowest claim: its retries, then one call left to the client library's timeout.
  const slowestWrite = WRITE_RETRY_BUDGET_MS + FIRESTORE_CALL_TIMEOUT_MS;

  it("a send fits in the lease after the claim with its outcome margin", () => {
    expect(MIN_SEND_MS + OUTCOME_MARGIN_MS).toBeLessThanOrEqual(LEASE_MS);
    expect(SEND_DEADLINE_MS + OUTCOME_MARGIN_MS).toBeLessThan(LEASE_MS);
  });

  it("observers wait for the outcome write's whole retry budget and one hanging call, from its latest start", () => {
    const lease = 1_700_000_000_000 + LEASE_MS;
    // The latest a send can end is where it is cut: the outcome write starts there at the latest.
    const sendStart = lease - OUTCOME_MARGIN_MS - MIN_SEND_MS;
    const outcomeStart = sendStart + sendTimeLeft(lease, sendStart, SEND_DEADLINE_MS);
    const lastLanding = outcomeStart + OUTCOME_RETRY_BUDGET_MS + FIRESTORE_CALL_TIMEOUT_MS;
    expect(attemptPresumedDead(lease, lastLanding - 1)).toBe(false);
  });

  it("the function outlives the slowest claim, the lease and its grace", () => {
    expect(slowestWrite + LEASE_MS + LEASE_GRACE_MS).toBeLessThanOrEqual(FUNCTION_TIMEOUT_MS);
  });

  it("a new mail's watch time is later than its first invocation's slowest claim", () => {
    expect(CLAIM_WATCH_MS).toBeGreaterThan(slowestWrite);
  });
});

describe("leaseEnd: counted from the claim's landing when it landed late", () => {
  const requested = 1_000_000;
  const lease = requested + LEASE_MS;

  it("is the written end for a version older than the lease's own start", () => {
    expect(leaseEnd(lease, requested - 5_000)).toBe(lease);
  });

  it("is a lease after the landing: 20 ms later for a claim that took 20 ms", () => {
    expect(leaseEnd(lease, requested + 20)).toBe(lease + 20);
  });

  it("is a whole lease after the landing for a claim that landed late", () => {
    expect(leaseEnd(lease, requested + 200_000)).toBe(requested + 200_000 + LEASE_MS);
  });

  it("only ever moves the end later, so observers never call an attempt dead early", () => {
    for (const landed of [requested - 5_000, requested, requested + 30_000, requested + 500_000]) {
      expect(leaseEnd(lease, landed)).toBeGreaterThanOrEqual(lease);
      expect(attemptPresumedDead(lease, leaseEnd(lease, landed) + LEASE_GRACE_MS - 1, landed)).toBe(false);
      expect(attemptPresumedDead(lease, leaseEnd(lease, landed) + LEASE_GRACE_MS, landed)).toBe(true);
    }
  });
});

describe("the deadlines inside one send and one attempt", () => {
  it("a token request or an SMTP phase times out on its own, with its own error, before the send's deadline", () => {
    expect(TOKEN_REQUEST_TIMEOUT_MS).toBeLessThan(SEND_DEADLINE_MS);
    for (const cap of Object.values(SMTP_TIMEOUT_CAPS)) expect(cap).toBeLessThan(SEND_DEADLINE_MS);
  });

  it("a lookup that times out still leaves the send its minimum before the lease ends", () => {
    expect(LOOKUP_DEADLINE_MS + MIN_SEND_MS + OUTCOME_MARGIN_MS).toBeLessThan(LEASE_MS);
  });

  it("a sender profile's secret read that times out, after a lookup that did, still leaves the send its minimum", () => {
    expect(LOOKUP_DEADLINE_MS + SECRET_READ_DEADLINE_MS + MIN_SEND_MS + OUTCOME_MARGIN_MS).toBeLessThan(LEASE_MS);
  });

  it("a secret read fails with its own error before a send's deadline, when it is made as the transport is built", () => {
    expect(SECRET_READ_DEADLINE_MS).toBeLessThan(SEND_DEADLINE_MS);
  });
});

describe("the archive write between the send and the outcome", () => {
  const claimedAt = 1_700_000_000_000;
  const leaseEnds = claimedAt + LEASE_MS;

  it("after a send that took its whole deadline from a prompt start, the archive still gets its full deadline", () => {
    expect(archiveTimeLeft(leaseEnds, claimedAt + 1_000 + SEND_DEADLINE_MS)).toBe(ARCHIVE_DEADLINE_MS);
  });

  it("never takes the outcome margin: late in the lease it is cut, then not started", () => {
    const late = leaseEnds - OUTCOME_MARGIN_MS - 2_000;
    expect(archiveTimeLeft(leaseEnds, late)).toBe(2_000);
    expect(late + archiveTimeLeft(leaseEnds, late) + OUTCOME_MARGIN_MS).toBe(leaseEnds);
    expect(archiveTimeLeft(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - 500)).toBeLessThan(MIN_ARCHIVE_MS);
  });

  it("fits in the lease beside a full send", () => {
    expect(SEND_DEADLINE_MS + ARCHIVE_DEADLINE_MS + OUTCOME_MARGIN_MS).toBeLessThan(LEASE_MS);
    expect(MIN_ARCHIVE_MS).toBeLessThan(ARCHIVE_DEADLINE_MS);
  });
});
