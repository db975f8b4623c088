/**
 * One spelling per address, so that a suppression recorded from a provider's
 * event matches the address a later mail document names: the bare address
 * (no display name, no angle brackets), trimmed and lower-cased. Providers
 * report addresses lower-cased, and no mailbox provider in use treats local
 * parts case-sensitively, so folding the local part too avoids misses.
 */

/** The normalised form of `value`, or undefined when it is not an address at all. */
export function normalizeAddress(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = value.trim();
  const bracketed = /<([^<>]*)>\s*$/.exec(text);
  if (bracketed) text = bracketed[1].trim();
  text = text.toLowerCase();
  const at = text.lastIndexOf("@");
  if (at <= 0 || at === text.length - 1 || /[\s<>]/.test(text) || text.length > 320) return undefined;
  return text;
}

/**
 * The suppression document's id for a normalised address. Firestore ids
 * cannot hold "/"; "%" is escaped too so that the mapping stays one-to-one.
 * Every other character is kept, so people can find an address by its id.
 */
export function suppressionDocId(address: string): string {
  return address.replace(/[%/]/g, (c) => encodeURIComponent(c));
}
