/**
 * Reading one param from the environment, shared by the param parsers of
 * this folder: what counts as unset, secrets taken verbatim, collection paths
 * and yes/no params checked the same way everywhere.
 */
import { isReservedId } from "../shared/firestore-ids";

export type Env = Record<string, string | undefined>;

/** Firebase passes an unset optional param as "", so empty counts as unset. */
export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * A password is used exactly as given: spaces at either end may be part of
 * it. Only an empty value means unset.
 */
export function readSecret(env: Env, name: string): string | undefined {
  const value = env[name];
  return value ? value : undefined;
}

/**
 * An odd number of segments separated by "/", none empty, "." or "..", and
 * none of Firestore's reserved `__name__` ids.
 */
export function collectionPath(env: Env, name: string, problems: string[]): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const segments = value.split("/");
  if (segments.length % 2 === 1 && segments.every((segment) => segment !== "" && !isReservedId(segment))) {
    return value;
  }
  problems.push(
    `${name} must be a collection path: an odd number of non-empty segments separated by "/" (such as "mail" or "tenants/acme/mail"), got "${value}"`,
  );
  return undefined;
}

/** A yes/no param: "true" or "false", `fallback` when unset. */
export function readBoolean(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const text = read(env, name);
  if (text === undefined) return fallback;
  if (text === "true" || text === "false") return text === "true";
  problems.push(`${name} must be "true" or "false", got "${text}"`);
  return fallback;
}
