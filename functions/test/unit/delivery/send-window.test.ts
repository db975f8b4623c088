import { DOWNLOAD_LIMITS } from "../../../src/attachments/limits";
import { LEASE_MS } from "../../../src/delivery/patches";
import { downloadTimeLeft, MIN_SEND_MS, OUTCOME_MARGIN_MS, sendTimeLeft } from "../../../src/delivery/send-window";
import { SEND_DEADLINE_MS } from "../../../src/providers/provider";

describe("the send window inside the processing lease", () => {
  const claimedAt = 1_700_000_000_000;
  const leaseEnds = claimedAt + LEASE_MS;

  it("a send started right after the claim keeps its full deadline", () => {
    expect(sendTimeLeft(leaseEnds, claimedAt + 100, SEND_DEADLINE_MS)).toBe(SEND_DEADLINE_MS);
  });

  it("a send started late (a slow claim write, slow lookups) is cut so that it and the outcome write end before the lease", () => {
    const start = claimedAt + 30_000;
    const left = sendTimeLeft(leaseEnds, start, SEND_DEADLINE_MS);
    expect(left).toBe(LEASE_MS - 30_000 - OUTCOME_MARGIN_MS);
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
