/**
 * A DNS lookup for `net.connect` that refuses non-public answers. The socket
 * connects to exactly the address this lookup hands it, so checking here
 * covers redirects (each hop connects anew) and DNS answers that change
 * between a check and the connection (there is no earlier check to fool).
 */
import * as dns from "node:dns";
import type { LookupFunction } from "node:net";
import { addressRefusal } from "./address-policy";

/** Node's lookup signature, in the form tests inject a fake resolver. */
export type Lookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/** A connection refused by the address policy; `reason` says which class the address is in. */
export class AddressRefusedError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${host} resolved to ${address}, ${reason}`);
    this.name = "AddressRefusedError";
  }
}

const systemLookup: Lookup = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * Wraps `resolve` so that every answer is checked before Node may connect.
 * All answers are checked, not only the first: with `autoSelectFamily` Node
 * tries several in turn.
 */
export function checkedLookup(resolve: Lookup = systemLookup, allowed: readonly string[] = []): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 4);
      if (!Array.isArray(addresses) || addresses.length === 0) {
        const none: NodeJS.ErrnoException = Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" });
        return callback(none, "", 4);
      }
      for (const { address } of addresses) {
        const reason = addressRefusal(address, allowed);
        if (reason) return callback(new AddressRefusedError(hostname, address, reason), "", 4);
      }
      if (options.all) return (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
