/**
 * Every line src/shared/logs.ts writes, each emitted with arguments taken
 * from where the extension gets them (the error a silent server produces,
 * the state the retry policy picks), and captured from firebase-functions'
 * logger as Cloud Logging receives them: a severity, a message and the
 * structured fields that become `jsonPayload`. docs/operations.md's filters
 * and its table of events are held to these lines.
 */
import type { DeliveryReport } from "../../src/webhooks/delivery-report";
import { failurePatch } from "../../src/delivery/retry-policy";
import { handedOverWithoutAnswer } from "../../src/providers/shared/unknown-outcome";
import { SMTP_SERVER } from "../../src/providers/smtp/classify-error";
import { DeliveryError } from "../../src/shared/errors";
import * as logs from "../../src/shared/logs";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

export interface LogLine {
  /** The logs.ts function that wrote it. */
  fn: string;
  /** As Cloud Logging shows it. */
  severity: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  message: string;
  fields: Record<string, unknown>;
}

const LEVELS = { debug: "DEBUG", info: "INFO", warn: "WARNING", error: "ERROR" } as const;

type LogFunction = Exclude<keyof typeof logs, "registerSecrets" | "redact">;

const PATH = "mail/abc";
const SMTP = { provider: "smtp" };
const RETRY_SETTINGS = { maxAttempts: 3, retryBackoffSeconds: 30 };
const bounce: DeliveryReport = { source: "sendgrid", eventId: "e1", mailPath: PATH, recipient: "ada@example.com", status: "bounced", bounceType: "hard", timeMs: 0, reason: "550 5.1.1 <ada@example.com> unknown", code: "5.1.1" };

/**
 * Each function's calls; a Record over every exported function, so that a
 * new log line that is not listed here fails the type check (and the test
 * below at run time).
 */
const CALLS: Record<LogFunction, Array<() => void>> = {
  configInvalid: [() => logs.configInvalid("SMTP_CONNECTION_URI is missing")],
  ignoredUriOptions: [() => logs.ignoredUriOptions(["foo"])],
  transportReady: [() => logs.transportReady("smtp", "smtp.example.com", true)],
  transportInitFailed: [() => logs.transportInitFailed(new Error("boom"))],
  userTemplateFieldIgnored: [() => logs.userTemplateFieldIgnored(PATH, "timeZone")],
  secretRead: [() => logs.secretRead("projects/p/secrets/acme-smtp/versions/latest", "secret-manager")],
  delivered: [
    () => logs.delivered(PATH, { messageId: "<m@example.com>", accepted: ["ada@example.com"], rejected: [] }, SMTP),
    () => logs.delivered(PATH, { messageId: "<m@example.com>", accepted: ["ada@example.com"], rejected: [] }, { provider: "sendgrid", profile: "marketing" }),
  ],
  deliveryFailed: [
    // The send whose outcome is unknown: the error a silent server gives, and the state the retry policy then records.
    () => {
      const error = handedOverWithoutAnswer(SMTP_SERVER, 1000);
      const { state } = failurePatch(RETRY_SETTINGS, error.message, error.transient, 0, Date.now());
      logs.deliveryFailed(PATH, { code: error.code, state, message: error.message }, SMTP);
    },
    // A temporary failure, retried.
    () => {
      const error = new DeliveryError("connection-failed", "Could not connect to the SMTP server", { transient: true });
      const { state } = failurePatch(RETRY_SETTINGS, error.message, error.transient, 0, Date.now());
      logs.deliveryFailed(PATH, { code: error.code, state, message: error.message }, SMTP);
    },
  ],
  invalidDocument: [() => logs.invalidDocument(PATH, 'Invalid field "to". Expected a string.')],
  unknownState: [() => logs.unknownState(PATH, "WAITING")],
  leaseExpired: [() => logs.leaseExpired(PATH, 1)],
  outcomeInfoReduced: [() => logs.outcomeInfoReduced(PATH, "too large")],
  archiveFailed: [() => logs.archiveFailed(PATH, "archive-too-large", "the record is 950000 bytes, more than a document holds (921600)")],
  writeLost: [() => logs.writeLost(PATH, "claim")],
  lateResultDiscarded: [() => logs.lateResultDiscarded(PATH, "SUCCESS")],
  ignoredMessageFields: [() => logs.ignoredMessageFields(PATH, ["foo"])],
  unexpectedError: [() => logs.unexpectedError(PATH, new Error("boom"))],
  uidsWithoutEmail: [() => logs.uidsWithoutEmail(PATH, ["u1"])],
  ignoredTemplateFields: [() => logs.ignoredTemplateFields(PATH, "welcome", ["path"])],
  maintenanceDone: [() => logs.maintenanceDone({ expired: 1, released: 2, cleaned: 0, skipped: 0, foreign: 0, truncated: true })],
  sweepOutOfBudget: [() => logs.sweepOutOfBudget("delivery.nextAttemptTime", "mail", 3)],
  sweepIndexMissing: [() => logs.sweepIndexMissing({ collectionId: "mail", field: "delivery.nextAttemptTime", group: true }, null, "nothing is released")],
  sweepStoppedAtForeignDocuments: [() => logs.sweepStoppedAtForeignDocuments("delivery.nextAttemptTime", "users/{uid}/mail", 500, "teams/t1/mail")],
  oauth2TokenIssued: [() => logs.oauth2TokenIssued("smtp.gmail.com", Date.now() + 3_600_000)],
  eventPublishFailed: [() => logs.eventPublishFailed("onSuccess", PATH, new Error("unavailable"))],
  webhookRefused: [() => logs.webhookRefused("sendgrid", 401, "bad signature")],
  webhookRecorded: [() => logs.webhookRecorded("sendgrid", { received: 1, recorded: 1, duplicates: 0, ignored: 0, untracked: 0, missing: 0, strangers: 0, rejected: 0, writes: 1 })],
  webhookUntracked: [() => logs.webhookUntracked("sendgrid", 1)],
  webhookFailed: [() => logs.webhookFailed("sendgrid", new Error("unavailable"))],
  recipientReported: [
    () => logs.recipientReported({ ...bounce, mailPath: PATH, status: "bounced" }),
    () => logs.recipientReported({ ...bounce, mailPath: PATH, status: "bounced", bounceType: "soft" }),
    () => logs.recipientReported({ ...bounce, mailPath: PATH, source: "mailgun", status: "complained", bounceType: undefined }),
  ],
  unsubscribed: [() => logs.unsubscribed(PATH)],
  recipientsSuppressed: [() => logs.recipientsSuppressed(PATH, 1, 2)],
  unsubscribeLinkSkipped: [() => logs.unsubscribeLinkSkipped(PATH, 2)],
  attachmentAddressRefused: [() => logs.attachmentAddressRefused("files.example.com", "10.0.0.1", "a private address")],
  webhookReportsRejected: [() => logs.webhookReportsRejected("sendgrid", 1, new Error("invalid"))],
};

/** The exported log functions of logs.ts, by name, found at run time. */
export const logFunctions = (): string[] =>
  Object.entries(logs)
    .filter(([name, value]) => typeof value === "function" && name !== "registerSecrets" && name !== "redact")
    .map(([name]) => name);

export const cataloguedFunctions = (): string[] => Object.keys(CALLS);

/** Every catalogued call's lines. Restores the logger's methods before it returns. */
export function emitEveryLine(): LogLine[] {
  const lines: LogLine[] = [];
  let current = "";
  const spies = Object.entries(LEVELS).map(([level, severity]) =>
    jest.spyOn(functionsLogger, level as keyof typeof LEVELS).mockImplementation((message?: unknown, fields?: unknown) => {
      lines.push({ fn: current, severity, message: String(message), fields: { ...(fields as Record<string, unknown> | undefined) } });
    }),
  );
  try {
    for (const [fn, calls] of Object.entries(CALLS)) {
      current = fn;
      for (const call of calls) call();
    }
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}
