/** Reading one param from the environment, the same way for every param parser of this folder. */
import { isReservedId } from "../shared/firestore-ids";

export type Env = Record<string, string | undefined>;

/**
 * What a config error says it received. Config errors reach every `delivery.error`, event and log, so only
 * a short word or number (what a typo looks like) is quoted; anything else may be a credential.
 */
export const received = (value: string): string =>
  /^[A-Za-z0-9.+-]{0,12}$/.test(value) ? `"${value}"` : `a value of ${value.length} characters (not repeated here, as it may hold a credential)`;

/** As `received`, for names (collection paths, database ids): quoted unless they hold a character only URLs and credentials have. */
export const receivedName = (value: string): string => (/^[A-Za-z0-9_.\-/(){} ]{0,300}$/.test(value) ? `"${value}"` : received(value));

/** Records a problem with a param, returning undefined for `return problem(…)`. */
export function problem(problems: string[], text: string): undefined {
  problems.push(text);
  return undefined;
}

/** Firebase passes an unset optional param as "". */
export const read = (env: Env, name: string): string | undefined => env[name]?.trim() || undefined;

/** Not trimmed: spaces at either end may be part of a password. */
export const readSecret = (env: Env, name: string): string | undefined => env[name] || undefined;

/** Digits only, so that "", "1e3", "0x10" and " 7" are not numbers (Number would take them). */
export const wholeNumber = (text: string): number => (/^[0-9]+$/.test(text) ? Number(text) : Number.NaN);

/** An odd number of segments, none empty, "." or ".." or a reserved `__name__`. */
export function collectionPath(env: Env, name: string, problems: string[]): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const segments = value.split("/");
  if (segments.length % 2 === 1 && segments.every((segment) => segment !== "" && !isReservedId(segment))) return value;
  return problem(
    problems,
    `${name} must be a collection path: an odd number of non-empty segments separated by "/" (such as "mail" or "tenants/acme/mail"), got ${receivedName(value)}`,
  );
}

export function readBoolean(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const text = read(env, name);
  if (text === undefined) return fallback;
  if (text === "true" || text === "false") return text === "true";
  problems.push(`${name} must be "true" or "false", got ${received(text)}`);
  return fallback;
}

export function readChoice<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T, problems: string[]): T | undefined {
  const value = read(env, name) ?? fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return problem(problems, `${name} must be one of ${allowed.join(", ")}, got ${received(value)}`);
}
