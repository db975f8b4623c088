/**
 * createSecretSource as the runtime will use it: names checked first, every
 * value registered for redaction before it is returned, the seams refused
 * where production could take them. Read through the local secrets file, the
 * one backend that needs no server.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_SECRETS_FILE_VARIABLE } from "../../../src/secrets/local-secrets-file";
import { createSecretSource } from "../../../src/secrets/secret-source";
import { ConfigError } from "../../../src/shared/errors";
import { redact } from "../../../src/shared/logs";
import { caught } from "../../helpers/caught";

const NAME = "projects/demo-send-email/secrets/acme-smtp/versions/latest";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "secret-source-"));
  file = join(dir, "secrets.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const emulatorSource = () => createSecretSource({ env: { FUNCTIONS_EMULATOR: "true", [LOCAL_SECRETS_FILE_VARIABLE]: file } });

describe("redaction", () => {
  it("a value is registered before read() returns it: no log line or error text can carry it", async () => {
    const value = "unseen-Password-4b2d";
    writeFileSync(file, JSON.stringify({ [NAME]: value }));
    expect(redact(`AUTH failed for ${value}`)).toContain(value);
    expect(await emulatorSource().read(NAME)).toBe(value);
    expect(redact(`AUTH failed for ${value}`)).toBe("AUTH failed for [REDACTED]");
    expect(redact(`{"password":"${encodeURIComponent(value)}"}`)).not.toContain(value);
  });
});

describe("names", () => {
  it("a malformed name is refused before anything is read", async () => {
    writeFileSync(file, JSON.stringify({ "not-a-name": "value-Xyz1" }));
    const error = await caught(ConfigError, emulatorSource().read("not-a-name"));
    expect(error.message).toMatch(/^A secret version must be named/);
  });
});

describe("the cache in front of the backend", () => {
  it("serves a cached value until forget(), then reads the file again (rotation)", async () => {
    const source = emulatorSource();
    writeFileSync(file, JSON.stringify({ [NAME]: "old-Password" }));
    expect(await source.read(NAME)).toBe("old-Password");
    writeFileSync(file, JSON.stringify({ [NAME]: "new-Password" }));
    expect(await source.read(NAME)).toBe("old-Password");
    source.forget(NAME);
    expect(await source.read(NAME)).toBe("new-Password");
  });
});

describe("the test seam", () => {
  it.each([
    "https://secretmanager.googleapis.com",
    "http://10.0.0.5:8080",
    "http://169.254.169.254:80",
    "http://127.0.0.1.example.com:80",
    "https://127.0.0.1:8443",
    "http://127.0.0.1",
    "not a url",
  ])("refuses the endpoint %s: only http on a loopback address and port", (endpoint) => {
    expect(() => createSecretSource({ endpoint })).toThrow("The Secret Manager endpoint can only be redirected to a loopback address, as http://127.0.0.1:PORT");
  });

  it("accepts loopback endpoints (the client library loads with the first read, see test/packaging/cold-start.test.ts)", () => {
    for (const endpoint of ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"]) expect(() => createSecretSource({ endpoint })).not.toThrow();
  });
});
