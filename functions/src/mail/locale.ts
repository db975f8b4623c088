/**
 * Locales and time zones for templates: the checks shared by the mail document, the template document and the
 * user document, and the fallback chain a localized template resolves with (RFC 4647 lookup: `de-CH` → `de`).
 * Intl is the only judge of what a tag or a zone is, so that what passes here is what the helpers can format.
 */
import { TEMPLATE_LIMITS } from "./template-limits";

/**
 * The canonical form of a BCP 47 tag (`de-ch` → `de-CH`), or undefined when it is not one or is too long.
 * `de_CH`, as POSIX and Java spell it and apps often store it, is read as `de-CH`.
 */
export function canonicalLocale(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > TEMPLATE_LIMITS.localeLength) return undefined;
  try {
    const [tag] = Intl.getCanonicalLocales(value.replace(/_/g, "-"));
    return tag;
  } catch {
    return undefined;
  }
}

/** The canonical name of an IANA time zone (`europe/zurich` → `Europe/Zurich`), or undefined when Intl does not know it. */
export function canonicalTimeZone(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > TEMPLATE_LIMITS.timeZoneLength) return undefined;
  try {
    return new Intl.DateTimeFormat("en", { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * The tags to try for `locale`, most specific first: extensions (`-u-…`) go, then one subtag at a time from the
 * end, so that `zh-Hant-TW` tries `zh-Hant-TW`, `zh-Hant`, `zh`.
 */
export function fallbackChain(locale: string): string[] {
  const subtags = new Intl.Locale(locale).baseName.split("-");
  return subtags.map((_, i) => subtags.slice(0, subtags.length - i).join("-"));
}

export const LOCALE_EXPECTED = `a BCP 47 language tag such as "de" or "de-CH" (at most ${TEMPLATE_LIMITS.localeLength} characters)`;
export const TIME_ZONE_EXPECTED = `an IANA time zone such as "Europe/Zurich" or "UTC" (at most ${TEMPLATE_LIMITS.timeZoneLength} characters)`;
