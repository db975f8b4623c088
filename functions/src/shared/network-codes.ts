/**
 * Node's and OpenSSL's error codes for a connection that failed, grouped by
 * what they mean for a retry. Shared by every provider's failure
 * classification, SMTP or HTTP, and by the attachment downloader: the socket
 * layer is the same.
 */

/** A certificate that did not verify: retrying cannot help. */
export const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
]);

/** Socket failures that a later attempt may well not see. */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "EAI_AGAIN",
]);

/**
 * Whether a connection failed in TLS: a certificate that did not verify (by
 * the list above, or by name: OpenSSL has more verify codes than it lists) or
 * a handshake that failed (ERR_SSL_*, ERR_TLS_*). Retrying cannot help.
 */
export function isTlsFailureCode(code: string): boolean {
  return CERTIFICATE_CODES.has(code) || /CERT|SSL|TLS/.test(code);
}

export const TIMEOUT_CODES: ReadonlySet<string> = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]);
