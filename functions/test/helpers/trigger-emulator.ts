/**
 * A Firestore emulator of a test file's own that delivers trigger events:
 * only an emulator started with `--functions_emulator` reports writes to a
 * trigger receiver (see event-driver.ts), and the shared one is not. While
 * it runs, FIRESTORE_EMULATOR_HOST points at it; `stop` points it back.
 */
import { EventDriver, type Registration } from "./event-driver";
import { emulatorInstalled, startEmulator, stopEmulator } from "./firestore-emulator";

/** Skipped only where the emulator is not installed; global-setup.ts warns loudly then. */
export const describeWithOwnEmulator: jest.Describe = emulatorInstalled() ? describe : describe.skip;

export interface TriggerEmulator {
  driver: EventDriver;
  /** Registers a function's trigger with this emulator (see EventDriver.register). */
  register(registration: Registration): Promise<void>;
  /** Closes the driver, stops the emulator and restores FIRESTORE_EMULATOR_HOST. */
  stop(): Promise<void>;
}

export async function startTriggerEmulator(): Promise<TriggerEmulator> {
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const driver = await EventDriver.start();
  const emulator = await startEmulator(90_000, [driver.emulatorFlag]).catch(async (error: unknown) => {
    await driver.close();
    throw error;
  });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  return {
    driver,
    register: (registration) => driver.register(emulator.host, registration),
    async stop() {
      await driver.close();
      stopEmulator(emulator);
      if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
    },
  };
}
