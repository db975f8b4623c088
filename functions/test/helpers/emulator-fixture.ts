/**
 * The one way a test gets Firestore.
 *
 * - The shared emulator: global-setup.ts starts one per `jest` run. A suite
 *   in `describeWithEmulator` calls `emulatorFirestore(projectId)` for a
 *   client under the file's own project id, emptied before each test, so
 *   that files never see each other's documents.
 * - An emulator of the suite's own, for the few suites that need Firestore
 *   to deliver trigger events: only an emulator started with
 *   `--functions_emulator` reports writes to a trigger receiver (see
 *   event-driver.ts), and the shared one is not. A suite in
 *   `describeWithOwnEmulator` calls `startTriggerEmulator()` in `beforeAll`.
 *
 * Where the emulator is missing, each such suite says so on the console and
 * is reported as skipped (global-setup.ts prints a banner too): it never
 * passes without running. Starting an emulator gives up with an error after
 * a deadline rather than hang.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { EventDriver, type Registration } from "./event-driver";
import { clearFirestore, EMULATOR_BINARY, emulatorInstalled, startEmulator, stopEmulator } from "./firestore-emulator";

/** The shared emulator's host:port, set by global-setup.ts (or by the caller); undefined where there is none. */
export const emulatorHost = process.env.FIRESTORE_EMULATOR_HOST;

type Suite = (name: string, fn: () => void) => void;

function suiteNeeding(available: boolean, missing: string): Suite {
  if (available) return describe;
  return (name, fn) => {
    console.warn(`SKIPPED "${name}": ${missing}`);
    describe.skip(name, fn);
  };
}

/** A suite against the shared emulator. */
export const describeWithEmulator: Suite = suiteNeeding(
  emulatorHost !== undefined,
  "no Firestore emulator (FIRESTORE_EMULATOR_HOST is unset; global-setup.ts starts one where it is installed).",
);

/** A suite that starts an emulator of its own (startTriggerEmulator). */
export const describeWithOwnEmulator: Suite = suiteNeeding(
  emulatorInstalled(),
  `this suite starts its own Firestore emulator, and none is installed at ${EMULATOR_BINARY}.`,
);

/**
 * A client for `projectId` on the emulator FIRESTORE_EMULATOR_HOST names.
 * It is the default app's, as the extension's own client is, so a test file
 * has one project id: a second one would silently get the first's documents
 * (and clear the wrong project), so it is refused.
 */
function client(projectId: string, database: string): Firestore {
  const app = getApps()[0] ?? initializeApp({ projectId });
  const existing = app.options.projectId;
  if (existing !== undefined && existing !== projectId) {
    throw new Error(`This test file already uses the project ${existing}; use it for ${projectId}'s suite too (one project id per file).`);
  }
  process.env.GCLOUD_PROJECT = projectId;
  return getFirestore(app, database);
}

/**
 * A Firestore client on the shared emulator under `projectId` (one per test
 * file), for `database`, emptied before each test. Call it inside a
 * `describeWithEmulator` block; call it once per database a file uses.
 */
export function emulatorFirestore(projectId: string, database = "(default)"): Firestore {
  const db = client(projectId, database);
  beforeEach(() => clearFirestore(emulatorHost!, projectId, database));
  return db;
}

export interface TriggerEmulator {
  driver: EventDriver;
  /** A client on this emulator (created while it runs), as the extension's own client is. */
  firestore(projectId: string): Firestore;
  /** Registers a function's trigger with this emulator (see EventDriver.register). */
  register(registration: Registration): Promise<void>;
  /** Closes the driver, stops the emulator and restores FIRESTORE_EMULATOR_HOST. */
  stop(): Promise<void>;
}

/** Starts an emulator that delivers trigger events; while it runs, FIRESTORE_EMULATOR_HOST points at it. */
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
    firestore: (projectId) => client(projectId, "(default)"),
    register: (registration) => driver.register(emulator.host, registration),
    async stop() {
      await driver.close();
      stopEmulator(emulator);
      if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
      else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
    },
  };
}
