/**
 * The grammar of DEFAULT_FROM. extension.yaml's validationRegex for the param is this pattern's source, so
 * the install form and the function accept the same values.
 */

// A local part (a run without spaces, controls, <>@" or a quoted string), "@", a domain with a dot and a
// final label of two or more characters. Tabs are the only control character allowed in text.
const TEXT_CHAR = String.raw`[^\x00-\x08\x0a-\x1f\x7f]`;
const LOCAL_PART = String.raw`(?:"${TEXT_CHAR}+"|[^\x00-\x20\x7f<>@"]+)`;
const DOMAIN = String.raw`[^\x00-\x20\x7f<>@"]+\.[^\x00-\x20\x7f<>@".]{2,}`;
const ADDRESS = `${LOCAL_PART}@${DOMAIN}`;

/**
 * An address, or one line of text followed by an address in angle brackets. Keeps every value DEFAULT_FROM
 * ever accepted (`"ACME <Support>" <help@acme.test>`, `"john doe"@example.com`); control characters never
 * match, as they could add header lines.
 */
export const SENDER_PATTERN = new RegExp(`^${ADDRESS}$|^${TEXT_CHAR}*<${ADDRESS}>$`);
