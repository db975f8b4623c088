import { LEASE_MS } from "../../../src/delivery/patches";
import { latestSendStart, OUTCOME_MARGIN_MS } from "../../../src/delivery/send-window";
import { SEND_DEADLINE_MS } from "../../../src/providers/provider";
import { DOWNLOAD_LIMITS } from "../../../src/attachments/limits";

describe("the send window inside the processing lease", () => {
  const claimedAt = 1_700_000_000_000;
  const leaseExpires = claimedAt + LEASE_MS;
  const sendBy = latestSendStart(leaseExpires, SEND_DEADLINE_MS);

  it("a send started at the latest allowed moment ends, at its own deadline, before the lease with room for the outcome write", () => {
    expect(sendBy + SEND_DEADLINE_MS + OUTCOME_MARGIN_MS).toBe(leaseExpires);
    expect(sendBy + SEND_DEADLINE_MS).toBeLessThan(leaseExpires);
  });

  it("leaves an attempt more time before its send than one full download deadline takes", () => {
    expect(sendBy - claimedAt).toBeGreaterThan(DOWNLOAD_LIMITS.deadlineMs);
  });
});
