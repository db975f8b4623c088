/**
 * One spelling per address, so that a suppression recorded from a provider's
 * event matches the address a later mail document names, however either is
 * written: the bare address (no display name, no angle brackets), trimmed and
 * lower-cased, its domain in ASCII (IDNA, as providers report it:
 * `bücher.de` is `xn--bcher-kva.de`) and without a trailing dot (`x.com.` is
 * `x.com` in DNS). Providers report addresses lower-cased, and no mailbox
 * provider in use treats local parts case-sensitively, so folding the local
 * part too avoids misses. The suppression check, the suppression record, the
 * `deliveryStatus` keys and unsubscribe links all use this one function.
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
  const domain = asciiDomain(text.slice(at + 1));
  return domain ? `${text.slice(0, at)}@${domain}` : undefined;
}

/** An address literal (`[192.0.2.1]`) is kept; a name goes through IDNA, which refuses what no DNS name can be. */
function asciiDomain(domain: string): string | undefined {
  if (/^\[[^\[\]]+\]$/.test(domain)) return domain;
  const ascii = domainToASCII(domain.replace(/\.$/, ""));
  return ascii && ascii.length <= 253 ? ascii : undefined;
}

/**
 * The id (and `deliveryStatus.recipients` key) for a normalised address.
 * Firestore ids cannot hold "/", and refuse `__…__` as an id or a field
 * name: "/" is percent-encoded, and so is the leading "_" of an address of
 * the reserved form. "%" is escaped too so that the mapping stays
 * one-to-one. Every other character is kept, so people can find an address
 * by its id.
 */
export function suppressionDocId(address: string): string {
  const id = address.replace(/[%/]/g, (c) => encodeURIComponent(c));
  return isReservedId(id) ? `%5F${id.slice(1)}` : id;
}
