/**
 * Node's and OpenSSL's codes for a failed connection, grouped by what they
 * mean for a retry: shared by SMTP, HTTP providers and the downloader, as
 * the socket layer is the same.
 */

/** A certificate that did not verify: retrying cannot help. */
export const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH",
]);

/** Socket failures that a later attempt may well not see. */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "EADDRNOTAVAIL", "EAI_AGAIN",
]);

export const TIMEOUT_CODES: ReadonlySet<string> = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]);

/** A certificate that did not verify (OpenSSL has more verify codes than listed) or a failed handshake: retrying cannot help. */
export function isTlsFailureCode(code: string): boolean {
  return CERTIFICATE_CODES.has(code) || /CERT|SSL|TLS/.test(code);
}
