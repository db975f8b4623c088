/**
 * The fixed helper set a template turns on with `helpers: true` (docs/mail-documents.md#template-helpers):
 * dates and numbers formatted with Intl in the mail's locale and time zone, comparisons, `default`, `upper`,
 * `lower` and `json`. There is no way to add helpers: code from a document would run in the function.
 *
 * Opt-in per template, because a helper takes precedence over a data key of the same name: `{{date}}` in a
 * template written before would call the helper instead of inserting `data.date`.
 *
 * Every helper checks its arguments and its options against a list; what the data can make a helper do is
 * bounded by TEMPLATE_LIMITS (calls and characters per rendered part). Errors say `helper 'name': …`, and the
 * renderer adds the template and the part.
 */
import type HandlebarsModule from "handlebars";
import { isPlainMap } from "../shared/plain-map";
import { canonicalLocale, canonicalTimeZone, LOCALE_EXPECTED, TIME_ZONE_EXPECTED } from "./locale";
import { TEMPLATE_LIMITS } from "./template-limits";

/** Where a render's helpers format: the locale and time zone resolved for the mail. */
export interface HelperContext {
  locale: string;
  timeZone: string;
}

/** What one rendered part has spent. */
interface Scope {
  context: HelperContext;
  calls: number;
  output: number;
}

class HelperError extends Error {
  constructor(helper: string, reason: string) {
    super(`helper '${helper}': ${reason}`);
  }
}

/** A checked option value, or a message saying what was expected. */
type OptionCheck = (value: unknown) => unknown;

const oneOf =
  (...allowed: string[]): OptionCheck =>
  (value) => {
    if (typeof value === "string" && allowed.includes(value)) return value;
    throw new Error(`one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
  };

const wholeNumber =
  (min: number, max: number): OptionCheck =>
  (value) => {
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new Error(`a whole number from ${min} to ${max}`);
  };

const boolean: OptionCheck = (value) => {
  if (typeof value === "boolean") return value;
  throw new Error("true or false");
};

const locale: OptionCheck = (value) => canonicalLocale(value) ?? fail(LOCALE_EXPECTED);
const timeZone: OptionCheck = (value) => canonicalTimeZone(value) ?? fail(TIME_ZONE_EXPECTED);
const currency: OptionCheck = (value) => (typeof value === "string" && /^[A-Za-z]{3}$/.test(value) ? value : fail('an ISO 4217 currency code such as "EUR"'));
const unit: OptionCheck = (value) => (typeof value === "string" && /^[a-z-]{1,64}$/.test(value) ? value : fail('a unit such as "kilometer" or "megabyte-per-second"'));

function fail(expected: string): never {
  throw new Error(expected);
}

const STYLE = ["full", "long", "medium", "short"];
const NUMERIC = ["numeric", "2-digit"];
const TEXT = ["long", "short", "narrow"];

const DATE_OPTIONS: Record<string, OptionCheck> = {
  dateStyle: oneOf(...STYLE),
  timeStyle: oneOf(...STYLE),
  weekday: oneOf(...TEXT),
  era: oneOf(...TEXT),
  year: oneOf(...NUMERIC),
  month: oneOf(...NUMERIC, ...TEXT),
  day: oneOf(...NUMERIC),
  hour: oneOf(...NUMERIC),
  minute: oneOf(...NUMERIC),
  second: oneOf(...NUMERIC),
  timeZoneName: oneOf("short", "long", "shortOffset", "longOffset", "shortGeneric", "longGeneric"),
  hour12: boolean,
  hourCycle: oneOf("h11", "h12", "h23", "h24"),
  timeZone,
  locale,
};

// Intl itself caps digits at 20 or 21 (100 on newer engines): the smaller bounds hold on every runtime.
const NUMBER_OPTIONS: Record<string, OptionCheck> = {
  style: oneOf("decimal", "percent", "currency", "unit"),
  currency,
  currencyDisplay: oneOf("symbol", "narrowSymbol", "code", "name"),
  unit,
  unitDisplay: oneOf(...TEXT),
  minimumIntegerDigits: wholeNumber(1, 21),
  minimumFractionDigits: wholeNumber(0, 20),
  maximumFractionDigits: wholeNumber(0, 20),
  minimumSignificantDigits: wholeNumber(1, 21),
  maximumSignificantDigits: wholeNumber(1, 21),
  useGrouping: boolean,
  notation: oneOf("standard", "scientific", "engineering", "compact"),
  compactDisplay: oneOf("short", "long"),
  signDisplay: oneOf("auto", "never", "always", "exceptZero"),
  locale,
};

interface Helper {
  /** How many positional arguments: exact, or at least `min`. */
  args: number | { min: number };
  options?: Record<string, OptionCheck>;
  run: (args: unknown[], options: Record<string, unknown>, context: HelperContext) => unknown;
}

/** Handlebars' own idea of false: an empty array too, as `{{#if}}` has it. */
const truthy = (value: unknown): boolean => Boolean(value) && !(Array.isArray(value) && value.length === 0);
const absent = (value: unknown): boolean => value === undefined || value === null;

function text(helper: string, value: unknown): string | undefined {
  if (absent(value)) return undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value !== "string") throw new HelperError(helper, `expected a string or a number, got ${describe(value)}`);
  if (value.length > TEMPLATE_LIMITS.helperInput) throw new HelperError(helper, `expected a string of at most ${TEMPLATE_LIMITS.helperInput} characters`);
  return value;
}

const hasToDate = (value: unknown): value is { toDate: () => unknown } =>
  typeof value === "object" && value !== null && typeof (value as { toDate?: unknown }).toDate === "function";

/** A Firestore Timestamp, a Date, milliseconds since 1970 or a date string; undefined for a missing value. */
function toDate(helper: string, value: unknown): Date | undefined {
  if (absent(value) || value === "") return undefined;
  let date: unknown = value;
  if (hasToDate(value)) date = value.toDate();
  else if (typeof value === "number") date = new Date(value);
  else if (typeof value === "string" && value.length <= TEMPLATE_LIMITS.parsedString) date = new Date(value);
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new HelperError(helper, `expected a timestamp, a date string or milliseconds since 1970, got ${describe(value)}`);
  }
  return date;
}

function toNumber(helper: string, value: unknown): number | undefined {
  if (absent(value) || value === "") return undefined;
  const number = typeof value === "string" && value.length <= TEMPLATE_LIMITS.parsedString ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) throw new HelperError(helper, `expected a number, got ${describe(value)}`);
  return number;
}

/** Intl refuses some combinations (dateStyle with year, say) with a RangeError or TypeError of its own. */
function format<T>(helper: string, build: () => { format: (value: T) => string }, value: T): string {
  try {
    return build().format(value);
  } catch (error) {
    throw new HelperError(helper, error instanceof Error ? error.message : String(error));
  }
}

/** Two numbers, two strings or two dates; a missing value compares as false, as a missing value is false in `{{#if}}`. */
function compare(helper: string, test: (order: number) => boolean): Helper {
  return {
    args: 2,
    run: ([a, b]) => {
      if (absent(a) || absent(b)) return false;
      const [x, y] = [a, b].map((value) => (hasToDate(value) || value instanceof Date ? toDate(helper, value)?.getTime() : value));
      if ((typeof x === "number" && typeof y === "number") || (typeof x === "string" && typeof y === "string")) return test(x < y ? -1 : x > y ? 1 : 0);
      throw new HelperError(helper, `expected two numbers, two strings or two dates, got ${describe(a)} and ${describe(b)}`);
    },
  };
}

/** Values as they sit in Firestore data, each as JSON can say it. */
function jsonValue(value: unknown, depth: number): unknown {
  if (depth > 100) throw new Error("nested too deeply");
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (hasToDate(value)) return toDate("json", value)?.toISOString() ?? null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map((item) => jsonValue(item, depth + 1));
  if (isPlainMap(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonValue(item, depth + 1)]));
  const place = value as { latitude?: unknown; longitude?: unknown; path?: unknown };
  if (typeof place?.latitude === "number" && typeof place.longitude === "number") return { latitude: place.latitude, longitude: place.longitude };
  if (typeof place?.path === "string") return place.path; // A DocumentReference.
  return null;
}

/** `<`, `>`, `&` and the two JavaScript line terminators escaped, so that the text is safe even inside `<script>`. */
const JSON_UNSAFE = /[<>&\u2028\u2029]/g;
const escapeJson = (json: string): string => json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

const HELPERS: Record<string, Helper> = {
  formatDate: {
    args: 1,
    options: DATE_OPTIONS,
    run: ([value], { locale: tag, ...options }, context) => {
      const date = toDate("formatDate", value);
      if (!date) return "";
      const zoned = { timeZone: context.timeZone, ...options } as Intl.DateTimeFormatOptions;
      // Without a style or field option, the date alone, as Intl has it, but spelled out ("Jan 5, 2026", not "1/5/2026").
      const shown = Object.keys(options).some((key) => key !== "timeZone") ? zoned : { dateStyle: "medium" as const, ...zoned };
      return format("formatDate", () => new Intl.DateTimeFormat((tag as string | undefined) ?? context.locale, shown), date);
    },
  },
  formatNumber: {
    args: 1,
    options: NUMBER_OPTIONS,
    run: ([value], { locale: tag, ...options }, context) => {
      const number = toNumber("formatNumber", value);
      if (number === undefined) return "";
      return format("formatNumber", () => new Intl.NumberFormat((tag as string | undefined) ?? context.locale, options as Intl.NumberFormatOptions), number);
    },
  },
  eq: { args: 2, run: ([a, b]) => a === b },
  ne: { args: 2, run: ([a, b]) => a !== b },
  lt: compare("lt", (order) => order < 0),
  lte: compare("lte", (order) => order <= 0),
  gt: compare("gt", (order) => order > 0),
  gte: compare("gte", (order) => order >= 0),
  and: { args: { min: 2 }, run: (args) => args.every(truthy) },
  or: { args: { min: 2 }, run: (args) => args.some(truthy) },
  not: { args: 1, run: ([value]) => !truthy(value) },
  default: { args: 2, run: ([value, fallback]) => (absent(value) || value === "" ? fallback : value) },
  upper: { args: 1, run: ([value], _, context) => text("upper", value)?.toLocaleUpperCase(context.locale) ?? "" },
  lower: { args: 1, run: ([value], _, context) => text("lower", value)?.toLocaleLowerCase(context.locale) ?? "" },
  json: {
    args: 1,
    run: ([value]) => {
      let json: string;
      try {
        json = JSON.stringify(jsonValue(value ?? null, 0));
      } catch (error) {
        throw new HelperError("json", error instanceof Error ? error.message : String(error));
      }
      if (json.length > TEMPLATE_LIMITS.jsonOutput) throw new HelperError("json", `the value is longer than ${TEMPLATE_LIMITS.jsonOutput} characters as JSON`);
      return escapeJson(json);
    },
  },
};

export const HELPER_NAMES: readonly string[] = Object.freeze(Object.keys(HELPERS));

/** Arguments checked, options checked against the helper's list, and the call and its output counted in `scope`. */
function guarded(name: string, helper: Helper, scope: Scope): HandlebarsModule.HelperDelegate {
  return function (this: unknown, ...given: unknown[]): unknown {
    const options = given.pop() as HandlebarsModule.HelperOptions;
    if (typeof options?.fn === "function") throw new HelperError(name, `is not a block helper: write {{${name} …}} or use it inside (…), as in {{#if (${name} …)}}`);
    const expected = typeof helper.args === "number" ? helper.args : helper.args.min;
    if (typeof helper.args === "number" ? given.length !== expected : given.length < expected) {
      const count = typeof helper.args === "number" ? `${expected}` : `at least ${expected}`;
      throw new HelperError(name, `expected ${count} argument${expected === 1 ? "" : "s"}, got ${given.length}`);
    }
    const checked: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(options?.hash ?? {})) {
      const check = helper.options && Object.hasOwn(helper.options, key) ? helper.options[key] : undefined;
      if (!check) {
        const known = helper.options ? `; it takes ${Object.keys(helper.options).join(", ")}` : "; it takes none";
        throw new HelperError(name, `unknown option '${key.slice(0, 64)}'${known}`);
      }
      try {
        checked[key] = check(value);
      } catch (error) {
        throw new HelperError(name, `option '${key}' must be ${(error as Error).message}`);
      }
    }
    if (++scope.calls > TEMPLATE_LIMITS.helperCalls) throw new HelperError(name, `more than ${TEMPLATE_LIMITS.helperCalls} helper calls in one part`);
    const result = helper.run(given, checked, scope.context);
    if (typeof result === "string") {
      scope.output += result.length;
      if (scope.output > TEMPLATE_LIMITS.helperOutput) throw new HelperError(name, `helpers returned more than ${TEMPLATE_LIMITS.helperOutput} characters in one part`);
    }
    return result;
  };
}

/**
 * The set for one rendered part, with a budget of its own, passed as that
 * render's runtime `helpers` (never registered on an environment, let alone
 * the global one), so that no state outlives the render.
 */
export function helpersFor(context: HelperContext): Record<string, HandlebarsModule.HelperDelegate> {
  const scope: Scope = { context, calls: 0, output: 0 };
  return Object.fromEntries(Object.entries(HELPERS).map(([name, helper]) => [name, guarded(name, helper, scope)]));
}

/** The kind of a value, never the value: data may be personal, and errors reach `delivery.error`. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date || hasToDate(value)) return "a timestamp";
  if (typeof value === "string") return value.length > 100 ? "a string of more than 100 characters" : "a string";
  return isPlainMap(value) ? "a map" : `a ${typeof value}`;
}
