/**
 * The one form of secret version name a sender profile may give:
 * `projects/PROJECT/secrets/SECRET/versions/VERSION`, VERSION a number or
 * `latest`. Checked before anything is read, so that a typo fails with what
 * was expected instead of the server's answer to a request it could not parse.
 *
 * A refusal never repeats the value: whoever pastes the password itself where
 * its name belongs must not find it in `delivery.error`.
 */
import { ConfigError } from "../shared/errors";

export const SECRET_VERSION_FORM = '"projects/PROJECT/secrets/SECRET/versions/VERSION" (VERSION a number or "latest")';

/** A project id (optionally domain-scoped, `example.com:my-project`) or a project number. */
const PROJECT = /^(?:(?:[a-z][a-z0-9-]*\.)+[a-z]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[1-9][0-9]{0,19}$/;
/** Secret Manager's secret ids: letters, digits, `-` and `_`, up to 255. */
const SECRET = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(?:latest|[1-9][0-9]{0,18})$/;

/** `name` if it is a secret version name; a ConfigError saying which part is wrong otherwise. */
export function checkSecretVersionName(name: unknown): string {
  const problem = nameProblem(name);
  if (problem) throw new ConfigError(`A secret version must be named ${SECRET_VERSION_FORM}, but ${problem}`);
  return name as string;
}

function nameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `got ${name === null ? "null" : Array.isArray(name) ? "an array" : typeof name}`;
  const parts = name.split("/");
  if (parts.length !== 6 || parts[0] !== "projects" || parts[2] !== "secrets" || parts[4] !== "versions") {
    return `got a value of ${name.length} characters that does not have this form`;
  }
  const [, project, , secret, , version] = parts;
  if (!PROJECT.test(project)) return "its PROJECT is not a project id or number";
  if (!SECRET.test(secret)) return "its SECRET is not a secret id (letters, digits, - and _, at most 255)";
  if (!VERSION.test(version)) return "its VERSION is neither a number nor latest";
  return undefined;
}
