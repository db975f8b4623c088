/**
 * The grammar of DEFAULT_FROM. extension.yaml's validationRegex for the
 * param is this pattern's source, so the install form and the function
 * accept exactly the same values.
 */

// One address: a local part (a run without spaces, control characters, angle
// brackets, "@" or quotes, or a quoted string), "@", and a domain with a dot
// and a final label of at least two characters. Text may hold tabs but no
// other control character.
const TEXT_CHAR = String.raw`[^\x00-\x08\x0a-\x1f\x7f]`;
const LOCAL_PART = String.raw`(?:"${TEXT_CHAR}+"|[^\x00-\x20\x7f<>@"]+)`;
const DOMAIN = String.raw`[^\x00-\x20\x7f<>@"]+\.[^\x00-\x20\x7f<>@".]{2,}`;
const ADDRESS = `${LOCAL_PART}@${DOMAIN}`;

/**
 * A sender (DEFAULT_FROM): an address, or anything on one line followed by an
 * address in angle brackets. Every value DEFAULT_FROM has ever accepted
 * matches, quoted display names with angle brackets
 * (`"ACME <Support>" <help@acme.test>`) and quoted local parts
 * (`"john doe"@example.com`) included; line breaks and other control
 * characters never do, since they would let a value add header lines.
 * extension.yaml's validationRegex for DEFAULT_FROM is this pattern's source.
 */
export const SENDER_PATTERN = new RegExp(`^${ADDRESS}$|^${TEXT_CHAR}*<${ADDRESS}>$`);
