/**
 * The secret source with the real Secret Manager client library, pointed at
 * a fake Secret Manager on loopback (test/helpers/fake-secret-manager.ts)
 * over the library's HTTP/1.1 transport: reads, `latest`, rotation picked up
 * after forget(), permanent and transient failures that name the version,
 * a deadline that holds against a silent server, and no value in any log.
 */
import { createSecretSource } from "../../src/secrets/secret-source";
import { DeliveryError } from "../../src/shared/errors";
import { caught } from "../helpers/caught";
import { startFakeSecretManager, type FakeSecretManager } from "../helpers/fake-secret-manager";

// The module itself, not a namespace copy, so that its functions can be spied on.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

/** A logger of the logging library that the Secret Manager client library uses. */
const libraryLogger = (namespace: string): { info(...args: unknown[]): void } => {
  const gax = require(require.resolve("google-gax", { paths: [require.resolve("@google-cloud/secret-manager")] })) as {
    loggingUtils: { log(namespace: string): { info(...args: unknown[]): void } };
  };
  return gax.loggingUtils.log(namespace);
};

const SECRET = "projects/demo-secrets/secrets/acme-smtp";
const LATEST = `${SECRET}/versions/latest`;
/** Short, so that the tests of slow servers take a second or two; production's is SECRET_READ_DEADLINE_MS. */
const DEADLINE_MS = 1_500;

let fake: FakeSecretManager;
beforeEach(async () => {
  fake = await startFakeSecretManager();
});
afterEach(() => fake.close());

const source = () => createSecretSource({ endpoint: fake.url, deadlineMs: DEADLINE_MS });

describe("reading", () => {
  it("reads a version by number, once while it is cached", async () => {
    const version = fake.addVersion(SECRET, "first-Password-1a");
    const secrets = source();
    expect(await secrets.read(version)).toBe("first-Password-1a");
    expect(await secrets.read(version)).toBe("first-Password-1a");
    expect(fake.requestCount(version)).toBe(1);
  });

  it("reads latest as the newest version", async () => {
    fake.addVersion(SECRET, "first-Password-1a");
    fake.addVersion(SECRET, "second-Password-2b");
    expect(await source().read(LATEST)).toBe("second-Password-2b");
  });

  it("keeps text as it is: spaces, a line break and non-ASCII characters", async () => {
    const version = fake.addVersion(SECRET, " pässwörd\n");
    expect(await source().read(version)).toBe(" pässwörd\n");
  });

  it("concurrent reads of one version share one request", async () => {
    fake.addVersion(SECRET, "first-Password-1a");
    const secrets = source();
    const values = await Promise.all(Array.from({ length: 10 }, () => secrets.read(LATEST)));
    expect(new Set(values)).toEqual(new Set(["first-Password-1a"]));
    expect(fake.requestCount(LATEST)).toBe(1);
  });
});

describe("rotation without a redeploy", () => {
  it("a new version of latest is read after forget(), as after an authentication failure", async () => {
    const first = fake.addVersion(SECRET, "first-Password-1a");
    const secrets = source();
    expect(await secrets.read(LATEST)).toBe("first-Password-1a");
    fake.addVersion(SECRET, "second-Password-2b");
    fake.disable(first);
    // Still cached: nothing has failed yet.
    expect(await secrets.read(LATEST)).toBe("first-Password-1a");
    secrets.forget(LATEST);
    expect(await secrets.read(LATEST)).toBe("second-Password-2b");
    expect(fake.requestCount(LATEST)).toBe(2);
  });
});

describe("permanent failures name the secret version and what to do", () => {
  it("a disabled version", async () => {
    const version = fake.addVersion(SECRET, "first-Password-1a");
    fake.disable(version);
    const error = await caught(DeliveryError, source().read(version));
    expect([error.code, error.transient]).toEqual(["lookup-failed", false]);
    expect(error.message).toBe(
      `secret ${version} could not be read: FAILED_PRECONDITION (Secret Version [${version}] is in DISABLED state.). ` +
        "The version is disabled or destroyed: enable it, or name another version (such as latest).",
    );
  });

  it("a destroyed version", async () => {
    const version = fake.addVersion(SECRET, "first-Password-1a");
    fake.destroy(version);
    const error = await caught(DeliveryError, source().read(version));
    expect(error.transient).toBe(false);
    expect(error.message).toContain(`secret ${version} could not be read: FAILED_PRECONDITION (Secret Version [${version}] is in DESTROYED state.)`);
  });

  it("latest, when the newest version is disabled", async () => {
    fake.addVersion(SECRET, "first-Password-1a");
    fake.disable(fake.addVersion(SECRET, "second-Password-2b"));
    const error = await caught(DeliveryError, source().read(LATEST));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/^secret projects\/demo-secrets\/secrets\/acme-smtp\/versions\/latest could not be read: FAILED_PRECONDITION/);
  });

  it("a secret that does not exist", async () => {
    const error = await caught(DeliveryError, source().read(LATEST));
    expect(error.transient).toBe(false);
    expect(error.message).toBe(
      `secret ${LATEST} could not be read: NOT_FOUND (Secret [${SECRET}] not found or has no versions.). ` +
        "Check that the secret and this version exist in that project, or name another version.",
    );
  });

  it.each([
    ["empty", Buffer.alloc(0), "its value is empty"],
    ["not UTF-8 text", Buffer.from([0xff, 0xfe, 0x00, 0x41]), "its value is not UTF-8 text"],
  ])("a version whose value is %s, which cannot be a password or key", async (_, value, problem) => {
    const version = fake.addVersion(SECRET, value);
    const error = await caught(DeliveryError, source().read(version));
    expect(error.transient).toBe(false);
    expect(error.message).toBe(`secret ${version} could not be read: ${problem}. Add a version holding the password or key as text, and name it (or latest).`);
  });

  it("a service account without access", async () => {
    fake.failWith(403, "PERMISSION_DENIED", `Permission 'secretmanager.versions.access' denied for resource '${LATEST}' (or it may not exist).`);
    const error = await caught(DeliveryError, source().read(LATEST));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/: PERMISSION_DENIED \(Permission 'secretmanager\.versions\.access' denied.*roles\/secretmanager\.secretAccessor/);
  });
});

describe("transient failures end within the deadline", () => {
  it("Secret Manager answering UNAVAILABLE; a failure is not kept, so the next read succeeds", async () => {
    fake.addVersion(SECRET, "first-Password-1a");
    fake.failWith(503, "UNAVAILABLE");
    const secrets = source();
    const error = await caught(DeliveryError, secrets.read(LATEST));
    expect([error.code, error.transient]).toEqual(["lookup-failed", true]);
    expect(error.message).toBe(`secret ${LATEST} could not be read: UNAVAILABLE (The service is currently unavailable.). It may be readable on a later attempt.`);
    fake.recover();
    expect(await secrets.read(LATEST)).toBe("first-Password-1a");
  });

  it("a server that never answers: no hang, a transient timeout at the deadline", async () => {
    fake.addVersion(SECRET, "first-Password-1a");
    fake.hang();
    const started = Date.now();
    const error = await caught(DeliveryError, source().read(LATEST));
    const elapsed = Date.now() - started;
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`secret ${LATEST} could not be read: Secret Manager did not answer within 1.5 s. It may be readable on a later attempt.`);
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(elapsed).toBeLessThan(DEADLINE_MS + 1_000);
    expect(fake.requestCount(LATEST)).toBeGreaterThanOrEqual(1);
  });

  it("nothing listening", async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeSecretManager(); // for afterEach
    const error = await caught(DeliveryError, createSecretSource({ endpoint: url, deadlineMs: DEADLINE_MS }).read(LATEST));
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`secret ${LATEST} could not be read: Secret Manager could not be reached (ECONNREFUSED). It may be readable on a later attempt.`);
  });
});

describe("no value in any log", () => {
  /** Everything written while `body` runs: the extension's logger, the console, and the process's own stdout and stderr (the client library's). */
  async function outputDuring(body: () => Promise<void>): Promise<string> {
    const lines: string[] = [];
    const spies = [
      ...(["debug", "info", "log", "warn", "error"] as const).map((level) =>
        jest.spyOn(functionsLogger, level).mockImplementation((...args: unknown[]) => void lines.push(JSON.stringify(args))),
      ),
      ...(["debug", "info", "log", "warn", "error"] as const).map((level) =>
        jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" "))),
      ),
      jest.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => lines.push(String(chunk)) > 0),
      jest.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => lines.push(String(chunk)) > 0),
    ];
    try {
      await body();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return lines.join("\n");
  }

  it("reads, a rotation and every kind of failure log the version's name, never its value", async () => {
    const values = ["logged-Never-0c1", "logged-Never-0c2"];
    const output = await outputDuring(async () => {
      const first = fake.addVersion(SECRET, values[0]);
      const secrets = source();
      await secrets.read(first);
      await secrets.read(LATEST);
      fake.addVersion(SECRET, values[1]);
      secrets.forget(LATEST);
      await secrets.read(LATEST);
      fake.disable(first);
      secrets.forget(first);
      await caught(DeliveryError, secrets.read(first));
      fake.failWith(500, "INTERNAL", `Internal error near ${values[1]}`);
      secrets.forget(LATEST);
      const echoed = await caught(DeliveryError, secrets.read(LATEST));
      expect(echoed.message).not.toContain(values[1]);
    });
    // The capture works: the reads were logged, by name.
    expect(output).toContain(`"secret":"${LATEST}"`);
    for (const value of values) {
      expect(output).not.toContain(value);
      expect(output).not.toContain(Buffer.from(value).toString("base64"));
    }
  });

  it("even with the client library's own debug logging on (GOOGLE_SDK_NODE_LOGGING), which logs each response", async () => {
    const value = "debug-Never-0c3";
    const version = fake.addVersion(SECRET, value);
    process.env.GOOGLE_SDK_NODE_LOGGING = "*";
    try {
      const output = await outputDuring(async () => {
        expect(await source().read(version)).toBe(value);
        // The capture works: the library's logger for this namespace is on and is captured.
        libraryLogger("secret-manager").info("canary %s", "line");
      });
      expect(output).toContain("canary line");
      expect(output).not.toContain(value);
      expect(output).not.toContain(Buffer.from(value).toString("base64"));
      expect(output).not.toContain(Array.from(Buffer.from(value)).join(","));
    } finally {
      delete process.env.GOOGLE_SDK_NODE_LOGGING;
    }
  });
});
