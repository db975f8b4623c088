/**
 * The local Emulator Suite's secrets file: taken only inside the Functions
 * emulator and only when named; read on each fetch; its failures name the
 * version and the file, never its content.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalFileReader, LOCAL_SECRETS_FILE_VARIABLE, localSecretsFile } from "../../../src/secrets/local-secrets-file";
import { ConfigError, DeliveryError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const NAME = "projects/demo-send-email/secrets/acme-smtp/versions/latest";

describe("localSecretsFile: only inside the Functions emulator", () => {
  it("is the named file when FUNCTIONS_EMULATOR is \"true\"", () => {
    expect(localSecretsFile({ FUNCTIONS_EMULATOR: "true", [LOCAL_SECRETS_FILE_VARIABLE]: "/tmp/secrets.json" })).toBe("/tmp/secrets.json");
  });

  it.each([
    ["a deployed function (no FUNCTIONS_EMULATOR)", {}],
    ["FUNCTIONS_EMULATOR set to anything but \"true\"", { FUNCTIONS_EMULATOR: "1" }],
    ["FUNCTIONS_EMULATOR \"false\"", { FUNCTIONS_EMULATOR: "false" }],
  ])("is never taken in %s, even with the variable set", (_, env) => {
    expect(localSecretsFile({ ...env, [LOCAL_SECRETS_FILE_VARIABLE]: "/tmp/secrets.json" })).toBeUndefined();
  });

  it("is not taken in the emulator without the variable (Secret Manager is used)", () => {
    expect(localSecretsFile({ FUNCTIONS_EMULATOR: "true" })).toBeUndefined();
    expect(localSecretsFile({ FUNCTIONS_EMULATOR: "true", [LOCAL_SECRETS_FILE_VARIABLE]: " " })).toBeUndefined();
  });

  it("refuses a relative path, which the functions would resolve from another directory", () => {
    const error = caught(ConfigError, () => localSecretsFile({ FUNCTIONS_EMULATOR: "true", [LOCAL_SECRETS_FILE_VARIABLE]: "extensions/secrets.json" }));
    expect(error.message).toBe(`${LOCAL_SECRETS_FILE_VARIABLE} must be an absolute path, got "extensions/secrets.json"`);
  });
});

describe("createLocalFileReader", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "local-secrets-"));
    file = join(dir, "secrets.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a version's value, and sees an edit on the next read", async () => {
    const read = createLocalFileReader(file);
    writeFileSync(file, JSON.stringify({ [NAME]: "first-Password" }));
    expect(await read(NAME)).toBe("first-Password");
    writeFileSync(file, JSON.stringify({ [NAME]: "second-Password" }));
    expect(await read(NAME)).toBe("second-Password");
  });

  it("a name missing from the file is permanent and names the version and the file", async () => {
    writeFileSync(file, JSON.stringify({ "projects/demo-send-email/secrets/other/versions/1": "other-Password" }));
    const error = await caught(DeliveryError, createLocalFileReader(file)(NAME));
    expect([error.code, error.transient]).toEqual(["lookup-failed", false]);
    expect(error.message).toBe(`secret ${NAME} could not be read: NOT_FOUND in the local secrets file ${file}. Add the secret version's name and value to it (see ${LOCAL_SECRETS_FILE_VARIABLE}).`);
  });

  it("a missing file says it could not be opened", async () => {
    const error = await caught(DeliveryError, createLocalFileReader(file)(NAME));
    expect(error.message).toContain(`the local secrets file ${file} could not be opened (ENOENT)`);
  });

  it("a file that is not JSON is refused without quoting it (JSON.parse quotes the text, which may be a secret)", async () => {
    writeFileSync(file, `{"${NAME}": "unquoted-Secret-77 }`);
    const error = await caught(DeliveryError, createLocalFileReader(file)(NAME));
    expect(error.message).toContain("is not a JSON object");
    expect(error.message).not.toContain("unquoted-Secret-77");
  });

  it.each([
    ["a number", 1234],
    ["an empty string", ""],
    ["an object", { value: "nested-Secret-88" }],
  ])("a value that is %s is refused without showing it", async (_, value) => {
    writeFileSync(file, JSON.stringify({ [NAME]: value }));
    const error = await caught(DeliveryError, createLocalFileReader(file)(NAME));
    expect(error.message).toContain("is not a non-empty string");
    expect(error.message).not.toContain("nested-Secret-88");
  });

  it("does not take a name from the object's prototype", async () => {
    writeFileSync(file, "{}");
    expect((await caught(DeliveryError, createLocalFileReader(file)("constructor"))).message).toContain("NOT_FOUND in the local secrets file");
  });
});
