/**
 * Bounds on localized templates, the template helpers and the user fields given to templates. A mail's data
 * comes from whoever writes the document: these keep one mail from costing much memory or CPU through them.
 */
export const TEMPLATE_LIMITS = Object.freeze({
  /** Characters in a locale tag (mail `locale`, template `locale` and `localized` keys, a user's `locale`); RFC 5646 asks for 35 at least. */
  localeLength: 64,
  /** Characters in a time zone name (mail `timeZone`, a user's `timeZone`); the longest IANA name has 32. */
  timeZoneLength: 64,
  /** Entries in a template's `localized` map. */
  localizedVariants: 100,
  /** Helper calls while rendering one part: a loop over the data calls a helper once per item. */
  helperCalls: 20_000,
  /** Characters all helper calls of one part may return together. */
  helperOutput: 2_000_000,
  /** Characters one `json` call may return. */
  jsonOutput: 100_000,
  /** Characters of a string `upper` or `lower` takes. */
  helperInput: 100_000,
  /** Characters of a string `formatDate` reads as a date or `formatNumber` as a number. */
  parsedString: 100,
});
// The bounds of USER_TEMPLATE_FIELDS are the param's, in config/user-template-fields.ts.
