/**
 * For test files that need Firestore: `describeWithEmulator` runs the suite
 * against the shared emulator, or reports it as skipped (with a loud warning
 * from global-setup.ts) when no emulator could be found. It never lets a
 * suite pass without running.
 */
export const emulatorHost = process.env.FIRESTORE_EMULATOR_HOST;

export const describeWithEmulator: jest.Describe = emulatorHost ? describe : describe.skip;
