/**
 * Reading one param from the environment, shared by the param parsers of
 * this folder: what counts as unset, secrets taken verbatim, collection paths
 * and yes/no params checked the same way everywhere.
 */
import { isReservedId } from "../shared/firestore-ids";

export type Env = Record<string, string | undefined>;

/**
 * What a config error says it received. Config errors reach every mail's
 * `delivery.error`, the lifecycle events and the logs, so a value is quoted
 * only when it is known to be harmless: a short word or number, which is what
 * a typo in a yes/no, number or choice param looks like. Anything else (a
 * URL, a key pasted into the wrong param) is described by its length alone.
 */
export function received(value: string): string {
  return HARMLESS.test(value) ? `"${value}"` : `a value of ${value.length} characters (not repeated here, as it may hold a credential)`;
}
const HARMLESS = /^[A-Za-z0-9.+-]{0,12}$/;

/**
 * As `received`, for names (collection paths, database ids): those are
 * quoted whatever their length, unless they hold a character no name has but
 * URLs and credentials do.
 */
export function receivedName(value: string): string {
  return /^[A-Za-z0-9_.\-/(){} ]{0,300}$/.test(value) ? `"${value}"` : received(value);
}

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
    `${name} must be a collection path: an odd number of non-empty segments separated by "/" (such as "mail" or "tenants/acme/mail"), got ${receivedName(value)}`,
  );
  return undefined;
}

/** A yes/no param: "true" or "false", `fallback` when unset. */
export function readBoolean(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const text = read(env, name);
  if (text === undefined) return fallback;
  if (text === "true" || text === "false") return text === "true";
  problems.push(`${name} must be "true" or "false", got ${received(text)}`);
  return fallback;
}
