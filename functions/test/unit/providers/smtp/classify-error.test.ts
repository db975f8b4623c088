import { DeliveryError, type ErrorCode } from "../../../../src/shared/errors";
import { registerSecrets } from "../../../../src/shared/logs";
import { OUTCOME_UNKNOWN_NOTE } from "../../../../src/providers/shared/unknown-outcome";
import { classifySmtpError, classifySmtpErrorAfterHandover } from "../../../../src/providers/smtp/classify-error";

/** Builds an error the way nodemailer and Node do: an Error with extra fields. */
function smtpError(fields: Record<string, unknown>, message = "nodemailer says something"): Error {
  return Object.assign(new Error(message), fields);
}

interface Case {
  name: string;
  error: unknown;
  code: ErrorCode;
  transient: boolean;
  /** Text the message must contain. */
  contains?: string[];
}

const cases: Case[] = [
  {
    name: "every recipient refused with 550",
    error: smtpError({ code: "EENVELOPE", command: "RCPT TO", responseCode: 550, response: "550 5.1.1 <x@y> Recipient rejected" }),
    code: "recipients-rejected",
    transient: false,
    contains: ["(550): 550 5.1.1 <x@y> Recipient rejected", "Check the addresses in to, cc and bcc."],
  },
  {
    name: "every recipient deferred with 451",
    error: smtpError({ code: "EENVELOPE", command: "RCPT TO", responseCode: 451, response: "451 4.2.0 Try later" }),
    code: "recipients-rejected",
    transient: true,
    contains: ["(451): 451 4.2.0 Try later", "later attempt"],
  },
  {
    name: "no recipients at all (refused before connecting)",
    error: smtpError({ code: "EENVELOPE", command: "API" }, "No recipients defined"),
    code: "recipients-rejected",
    transient: false,
    contains: ["No recipients defined"],
  },
  {
    name: "sender refused",
    error: smtpError({ code: "EENVELOPE", command: "MAIL FROM", responseCode: 553, response: "553 5.7.1 Sender not owned" }),
    code: "message-rejected",
    transient: false,
    contains: ["sender", "(553): 553 5.7.1 Sender not owned"],
  },
  {
    name: "message refused after DATA with 554",
    error: smtpError({ code: "EMESSAGE", command: "DATA", responseCode: 554, response: "554 5.6.0 Spam" }),
    code: "message-rejected",
    transient: false,
    contains: ["(554): 554 5.6.0 Spam"],
  },
  {
    name: "message deferred after DATA with 451",
    error: smtpError({ code: "EMESSAGE", command: "DATA", responseCode: 451, response: "451 4.3.0 Later" }),
    code: "message-rejected",
    transient: true,
  },
  {
    name: "credentials refused with 535",
    error: smtpError({ code: "EAUTH", command: "AUTH PLAIN", responseCode: 535, response: "535 5.7.8 Bad credentials" }),
    code: "auth-failed",
    transient: false,
    contains: ["SMTP authentication failed (535): 535 5.7.8 Bad credentials", "SMTP_PASSWORD"],
  },
  {
    name: "temporary authentication failure 454",
    error: smtpError({ code: "EAUTH", responseCode: 454, response: "454 4.7.0 Temporary failure" }),
    code: "auth-failed",
    transient: true,
  },
  {
    name: "no credentials given",
    error: smtpError({ code: "ENOAUTH" }, "Authentication info was not provided"),
    code: "auth-failed",
    transient: false,
  },
  {
    name: "connection refused, wrapped by nodemailer",
    error: smtpError({ code: "ESOCKET", originalCode: "ECONNREFUSED", address: "127.0.0.1", port: 2525 }),
    code: "connection-failed",
    transient: true,
    contains: ["127.0.0.1:2525", "ECONNREFUSED", "SMTP_CONNECTION_URI"],
  },
  {
    name: "connection refused, straight from Node",
    error: smtpError({ code: "ECONNREFUSED", errno: -111, syscall: "connect" }),
    code: "connection-failed",
    transient: true,
  },
  {
    name: "connection reset",
    error: smtpError({ code: "ESOCKET", originalCode: "ECONNRESET" }),
    code: "connection-failed",
    transient: true,
  },
  {
    name: "connection closed unexpectedly",
    error: smtpError({ code: "ECONNECTION" }, "Connection closed unexpectedly"),
    code: "connection-failed",
    transient: true,
    contains: ["Connection closed unexpectedly"],
  },
  {
    name: "server shutting down with 421",
    error: smtpError({ code: "ECONNECTION", responseCode: 421, response: "421 4.3.2 Shutting down" }),
    code: "connection-failed",
    transient: true,
    contains: ["(421)"],
  },
  {
    name: "host not found",
    error: smtpError({ code: "EDNS", originalCode: "ENOTFOUND" }),
    code: "connection-failed",
    transient: false,
    contains: ["ENOTFOUND"],
  },
  {
    name: "resolver hiccup",
    error: smtpError({ code: "EDNS", originalCode: "EAI_AGAIN" }),
    code: "connection-failed",
    transient: true,
  },
  {
    name: "greeting never received",
    error: smtpError({ code: "ETIMEDOUT", timeoutType: "GREETING_TIMEOUT" }, "Greeting never received"),
    code: "timeout",
    transient: true,
    contains: ["GREETING_TIMEOUT"],
  },
  {
    name: "socket timeout reported by Node",
    error: smtpError({ code: "ESOCKET", originalCode: "ETIMEDOUT" }),
    code: "timeout",
    transient: true,
  },
  ...["CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_TLS_CERT_ALTNAME_INVALID", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN"].flatMap(
    (cert): Case[] => [
      { name: `${cert} wrapped as ESOCKET`, error: smtpError({ code: "ESOCKET", originalCode: cert }), code: "tls-failed", transient: false, contains: [cert] },
      { name: `${cert} wrapped as ETLS`, error: smtpError({ code: "ETLS", originalCode: cert }), code: "tls-failed", transient: false },
      { name: `${cert} straight from Node`, error: smtpError({ code: cert }), code: "tls-failed", transient: false },
    ],
  ),
  {
    name: "plain TLS on a port that speaks SMTP",
    error: smtpError({ code: "ESOCKET", originalCode: "ERR_SSL_WRONG_VERSION_NUMBER" }),
    code: "tls-failed",
    transient: false,
    contains: ["ERR_SSL_WRONG_VERSION_NUMBER", "smtps://"],
  },
  {
    name: "STARTTLS refused",
    error: smtpError({ code: "ETLS", command: "STARTTLS", responseCode: 454, response: "454 TLS not available" }),
    code: "tls-failed",
    transient: false,
    contains: ["(454): 454 TLS not available"],
  },
  {
    name: "local file attachment refused",
    error: smtpError({ code: "EFILEACCESS" }, "File access rejected for /etc/hostname"),
    code: "invalid-document",
    transient: false,
  },
  {
    name: "local file attachment refused inside the message stream",
    error: smtpError({ code: "ESTREAM", originalCode: "EFILEACCESS" }),
    code: "invalid-document",
    transient: false,
  },
  {
    name: "unexpected server reply",
    error: smtpError({ code: "EPROTOCOL", responseCode: 500, response: "500 What?" }),
    code: "unknown",
    transient: false,
  },
  { name: "a bare Error", error: new Error("boom"), code: "unknown", transient: false, contains: ["boom"] },
  { name: "a thrown string", error: "boom", code: "unknown", transient: false, contains: ["boom"] },
  { name: "undefined", error: undefined, code: "unknown", transient: false },
];

describe("classifySmtpError", () => {
  it.each(cases)("$name → $code (transient: $transient)", ({ error, code, transient, contains }) => {
    const classified = classifySmtpError(error);
    expect(classified).toBeInstanceOf(DeliveryError);
    expect(classified.code).toBe(code);
    expect(classified.transient).toBe(transient);
    for (const text of contains ?? []) expect(classified.message).toContain(text);
  });

  it("keeps the SMTP reply code", () => {
    const error = smtpError({ code: "EENVELOPE", command: "RCPT TO", responseCode: 550, response: "550 no" });
    expect(classifySmtpError(error).responseCode).toBe(550);
  });

  it("never reads the message text", () => {
    // Text that looks like a timeout and a TLS failure must not change the verdict.
    const error = smtpError({ code: "EAUTH", responseCode: 535, response: "535 no" }, "ETIMEDOUT certificate has expired");
    expect(classifySmtpError(error).code).toBe("auth-failed");
  });

  it("redacts registered secrets echoed by the server", () => {
    registerSecrets(["s3cret-Pa55"]);
    const error = smtpError({ code: "EAUTH", responseCode: 535, response: "535 bad password s3cret-Pa55" });
    const { message } = classifySmtpError(error);
    expect(message).not.toContain("s3cret-Pa55");
    expect(message).toContain("[REDACTED]");
  });

  it("folds a multi-line reply onto one line and clips a very long one", () => {
    const response = `550-5.1.1 first line\r\n550 5.1.1 ${"x".repeat(1000)}`;
    const { message } = classifySmtpError(smtpError({ code: "EENVELOPE", command: "RCPT TO", responseCode: 550, response }));
    expect(message).toContain("550-5.1.1 first line 550 5.1.1 xxx");
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.length).toBeLessThan(500);
  });

  it("passes a DeliveryError through unchanged", () => {
    const original = new DeliveryError("timeout", "late", { transient: true });
    expect(classifySmtpError(original)).toBe(original);
  });
});

describe("classifySmtpErrorAfterHandover (the whole message was written, then no reply)", () => {
  const SOCKET_TIMEOUT_MS = 20_000;

  it.each([
    ["nodemailer's socket timeout", smtpError({ code: "ETIMEDOUT", timeoutType: "SOCKET_TIMEOUT", command: "CONN" }), "did not answer within 20 s"],
    ["a connection the server closed", smtpError({ code: "ECONNECTION", command: "CONN" }, "Connection closed unexpectedly"), "the connection ended before it answered"],
    ["a reset connection", smtpError({ code: "ESOCKET", originalCode: "ECONNRESET", command: "CONN" }), "the connection ended before it answered"],
    ["a reply longer than nodemailer accepts", smtpError({ code: "EPROTOCOL", command: "CONN" }), "the connection ended before it answered"],
    ["a cancelled send", smtpError({ code: "EABORT" }), "the connection ended before it answered"],
  ])("%s → outcome-unknown, never retried automatically", (_name, error, silence) => {
    const classified = classifySmtpErrorAfterHandover(error, SOCKET_TIMEOUT_MS);
    expect(classified).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(classified.message).toContain(`The SMTP server ${OUTCOME_UNKNOWN_NOTE} the mail`);
    expect(classified.message).toContain(silence);
    expect(classified.message).toContain("RETRY");
  });

  it.each([
    ["451 after the dot", smtpError({ code: "EMESSAGE", command: "DATA", responseCode: 451, response: "451 4.3.0 Later" }), "message-rejected", true],
    ["554 after the dot", smtpError({ code: "EMESSAGE", command: "DATA", responseCode: 554, response: "554 5.6.0 Spam" }), "message-rejected", false],
    ["a 421 the server wrote before closing", smtpError({ code: "ECONNECTION", command: "CONN", responseCode: 421, response: "421 Shutting down" }), "connection-failed", true],
  ] as const)("a reply (%s) is classified as before", (_name, error, code, transient) => {
    const classified = classifySmtpErrorAfterHandover(error, SOCKET_TIMEOUT_MS);
    expect(classified).toMatchObject({ code, transient });
    expect(classified).toEqual(classifySmtpError(error));
  });

  it("passes a DeliveryError through unchanged", () => {
    const original = new DeliveryError("invalid-document", "bad");
    expect(classifySmtpErrorAfterHandover(original, SOCKET_TIMEOUT_MS)).toBe(original);
  });
});
