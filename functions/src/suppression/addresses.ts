/**
 * One spelling per address, so that a suppression recorded from a provider's report matches the address a later
 * mail names, however either is written: the bare address, trimmed and lower-cased (providers report it so, and no
 * mailbox provider in use treats local parts case-sensitively), its domain in ASCII (IDNA, as providers report it)
 * and without a trailing dot. The suppression check and record, the `deliveryStatus` keys and unsubscribe links
 * all use this one function.
 */
import { domainToASCII } from "node:url";
import { isReservedId } from "../shared/firestore-ids";

/** The normalised form of `value`, or undefined when it is not an address at all. */
export function normalizeAddress(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = value.trim();
  const bracketed = /<([^<>]*)>\s*$/.exec(text);
  if (bracketed) text = bracketed[1].trim();
  text = text.toLowerCase();
  const at = text.lastIndexOf("@");
  if (at <= 0 || at === text.length - 1 || /[\s<>]/.test(text) || text.length > 320) return undefined;
  const domain = text.slice(at + 1);
  // An address literal (`[192.0.2.1]`) is kept; a name goes through IDNA, which refuses what no DNS name can be.
  const literal = /^\[[^\[\]]+\]$/.test(domain);
  const ascii = literal ? domain : domainToASCII(domain.replace(/\.$/, ""));
  return ascii && (literal || ascii.length <= 253) ? `${text.slice(0, at)}@${ascii}` : undefined;
}

/**
 * The id (and `deliveryStatus.recipients` key) for a normalised address. Firestore refuses "/" in ids and `__…__`
 * as an id or field name: "/" is percent-encoded, and so are "%" (keeping the mapping one-to-one) and the leading
 * "_" of a reserved form. Everything else is kept, so people can find an address by its id.
 */
export function suppressionDocId(address: string): string {
  const id = address.replace(/[%/]/g, (c) => encodeURIComponent(c));
  return isReservedId(id) ? `%5F${id.slice(1)}` : id;
}
