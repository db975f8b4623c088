/**
 * Secrets for the local Emulator Suite (`npm start`), which has no Secret
 * Manager: a JSON file mapping secret version names, exactly as sender
 * profiles give them, to their values:
 *
 *   { "projects/demo-send-email/secrets/acme-smtp/versions/latest": "local-password" }
 *
 * Taken only inside the Functions emulator (which sets FUNCTIONS_EMULATOR to
 * "true"; a deployed function never has it) and only when
 * FIRESTORE_SEND_EMAIL_SECRETS_FILE names the file, so that no setting of a
 * deployed instance can make it read a local file. The file is read on each
 * read that the cache lets through: an edit is seen after `forget` or expiry,
 * as a new version would be.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { ConfigError } from "../shared/errors";
import { secretFailure } from "./secret-read-error";

export const LOCAL_SECRETS_FILE_VARIABLE = "FIRESTORE_SEND_EMAIL_SECRETS_FILE";

/** The local secrets file's path, inside the Functions emulator only; undefined elsewhere. */
export function localSecretsFile(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.FUNCTIONS_EMULATOR !== "true") return undefined;
  const path = env[LOCAL_SECRETS_FILE_VARIABLE]?.trim();
  if (!path) return undefined;
  // The functions run with another working directory than the command that started the emulators.
  if (!isAbsolute(path)) throw new ConfigError(`${LOCAL_SECRETS_FILE_VARIABLE} must be an absolute path, got "${path}"`);
  return path;
}

const FIX = `Add the secret version's name and value to it (see ${LOCAL_SECRETS_FILE_VARIABLE}).`;

/** A function reading one version's value from the file at `path`. */
export function createLocalFileReader(path: string): (name: string) => Promise<string> {
  return async (name) => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw secretFailure(name, `the local secrets file ${path} could not be opened (${code})`, FIX, false);
    }
    let secrets: unknown;
    try {
      secrets = JSON.parse(text);
    } catch {
      // JSON.parse quotes the text around the fault, which may be a secret: not repeated.
      secrets = undefined;
    }
    if (typeof secrets !== "object" || secrets === null || Array.isArray(secrets)) {
      throw secretFailure(name, `the local secrets file ${path} is not a JSON object`, FIX, false);
    }
    const value = Object.hasOwn(secrets, name) ? (secrets as Record<string, unknown>)[name] : undefined;
    if (value === undefined) throw secretFailure(name, `NOT_FOUND in the local secrets file ${path}`, FIX, false);
    if (typeof value !== "string" || value === "") throw secretFailure(name, `its value in the local secrets file ${path} is not a non-empty string`, FIX, false);
    return value;
  };
}
