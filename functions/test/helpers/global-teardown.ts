import { stopEmulator, RunningEmulator } from "./firestore-emulator";

export default async function globalTeardown(): Promise<void> {
  const emulator = (globalThis as { __FIRESTORE_EMULATOR__?: RunningEmulator }).__FIRESTORE_EMULATOR__;
  if (emulator) stopEmulator(emulator);
}
