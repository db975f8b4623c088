/**
 * The host names a test fake may listen on. Code that lets tests redirect a
 * credentialed or credential-serving client accepts only these, so that even
 * a stray caller cannot send it off the machine.
 */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** `hostname` as `URL.hostname` gives it (IPv6 in brackets). */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname);
