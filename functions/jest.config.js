// Two tiers, one command: `npm test` runs the fast unit tests and the tests
// against a real Firestore emulator and a real SMTP server.
const transform = {
  "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: false }],
  // request-filtering-agent ships ES modules only; Node 20 loads them with
  // require() in production, but jest's module loader needs them as CommonJS.
  "/node_modules/request-filtering-agent/.+\\.js$": [
    "ts-jest",
    { tsconfig: { allowJs: true, module: "commonjs", esModuleInterop: true }, diagnostics: false },
  ],
};
const transformIgnorePatterns = ["/node_modules/(?!request-filtering-agent/)"];

// Tests reach loopback only. Without credentials, Google's auth library would
// otherwise probe the cloud metadata server to find a project id; the workers
// inherit this from the process that reads this file.
process.env.METADATA_SERVER_DETECTION = "none";

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      // test/docs: the documentation's examples and quickstart, checked without an emulator.
      testMatch: ["<rootDir>/test/unit/**/*.test.ts", "<rootDir>/test/docs/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "\\.emulator\\.test\\.ts$"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      // The security tier (one test per attack) needs the same emulator and servers.
      testMatch: ["<rootDir>/test/integration/**/*.test.ts", "<rootDir>/test/security/**/*.test.ts", "<rootDir>/test/packaging/**/*.test.ts", "<rootDir>/test/docs/**/*.emulator.test.ts"],
      globalSetup: "<rootDir>/test/helpers/global-setup.ts",
      globalTeardown: "<rootDir>/test/helpers/global-teardown.ts",
      // A project-level testTimeout is ignored by jest; the setup file sets it.
      setupFilesAfterEnv: ["<rootDir>/test/helpers/integration-setup.ts"],
    },
    // The simulation tier: seeded schedules of the delivery core against an
    // in-memory Firestore (test/simulation/world.ts); no emulator, no network.
    {
      displayName: "simulation",
      testEnvironment: "node",
      transform,
      transformIgnorePatterns,
      testMatch: ["<rootDir>/test/simulation/**/*.test.ts"],
    },
    // The fault and throttling tier: thousands of mails against a fault-injecting
    // proxy and a throttling SMTP server, several minutes; `npm run test:faults`.
    ...(process.env.FIRESTORE_SEND_EMAIL_FAULTS === "1"
      ? [
          {
            displayName: "faults",
            testEnvironment: "node",
            transform,
            transformIgnorePatterns,
            testMatch: ["<rootDir>/test/faults/**/*.test.ts"],
            globalSetup: "<rootDir>/test/helpers/global-setup.ts",
            globalTeardown: "<rootDir>/test/helpers/global-teardown.ts",
            setupFilesAfterEnv: ["<rootDir>/test/faults/faults-setup.ts"],
          },
        ]
      : []),
    // The end-to-end tier needs the whole Emulator Suite around it, so it runs
    // only under `firebase emulators:exec`, started by scripts/e2e.js.
    ...(process.env.FIRESTORE_SEND_EMAIL_E2E === "1"
      ? [
          {
            displayName: "e2e",
            testEnvironment: "node",
            transform,
            transformIgnorePatterns,
            testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
            setupFilesAfterEnv: ["<rootDir>/test/e2e/e2e-setup.ts"],
          },
        ]
      : []),
  ],
};
