/**
 * Starts one Firestore emulator for the integration tier. Where the emulator
 * is not installed, says so loudly: the emulator-backed suites then report
 * themselves as skipped (see emulator-fixture.ts), never as passed.
 */
import { emulatorInstalled, startEmulator, EMULATOR_BINARY } from "./firestore-emulator";

export default async function globalSetup(): Promise<void> {
  if (process.env.FIRESTORE_EMULATOR_HOST) return; // An emulator the caller started.
  if (!emulatorInstalled()) {
    const line = "!".repeat(78);
    process.stderr.write(
      `\n${line}\n!! Firestore emulator not found at ${EMULATOR_BINARY}\n` +
        `!! Install the Debian package google-cloud-cli-firestore-emulator (or set\n` +
        `!! FIRESTORE_EMULATOR_HOST). The Firestore integration tests are SKIPPED.\n${line}\n\n`,
    );
    return;
  }
  const emulator = await startEmulator();
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  (globalThis as { __FIRESTORE_EMULATOR__?: unknown }).__FIRESTORE_EMULATOR__ = emulator;
}
