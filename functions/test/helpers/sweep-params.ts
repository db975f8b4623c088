/**
 * What a test of the scheduled sweep configures and when it sweeps. Its
 * Firestore client comes from emulator-fixture.ts (`emulatorFirestore`).
 */
import { LEASE_GRACE_MS, LEASE_MS } from "../../src/shared/budget";

/** Params for a test of the sweep alone: the sweep never sends, so the SMTP server named is never dialled. */
export const SWEEP_PARAMS: Readonly<Record<string, string>> = {
  SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525",
  DEFAULT_FROM: "noreply@example.com",
};

/**
 * A sweep time at which every lease a test wrote so far has ended with its
 * grace. A lease runs at least LEASE_MS from the write that carries it (a
 * claim may land late, shared/budget.ts leaseEnd), so a fixture's lease
 * that "ended long ago", written now, is over only a lease and the grace
 * from now.
 */
export function afterLeases(): number {
  return Date.now() + LEASE_MS + LEASE_GRACE_MS + 1000;
}
