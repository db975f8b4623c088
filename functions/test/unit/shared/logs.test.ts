/**
 * The structured fields of the log lines that docs/operations.md's metrics
 * and alerts count: each line names its `event`, and the mail's path, the
 * state it is given, the error code and the provider under the same names
 * everywhere. An alert that filters on a field nobody writes never fires, so
 * these are asserted one by one.
 */
import * as logs from "../../../src/shared/logs";
import { cataloguedFunctions, emitEveryLine, logFunctions, type LogLine } from "../../helpers/log-lines";

const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

/** What one call of `write` logged, as [severity method, message, fields]. */
function captured(write: () => void): Array<[string, string, Record<string, unknown>]> {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const spies = (["debug", "info", "warn", "error"] as const).map((level) =>
    jest.spyOn(functionsLogger, level).mockImplementation((message?: unknown, fields?: unknown) => {
      lines.push([level, String(message), fields as Record<string, unknown>]);
    }),
  );
  try {
    write();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

describe("the log lines alerts count", () => {
  test("a send whose outcome is unknown: delivery-failed, code outcome-unknown, state ERROR, the mail's path and provider, no profile unless given", () => {
    const lines = captured(() => logs.deliveryFailed("users/u1/mail/m1", { code: "outcome-unknown", state: "ERROR", message: "The SMTP server may have accepted the mail" }, { provider: "smtp" }));
    expect(lines).toEqual([
      ["warn", "Delivery failed: The SMTP server may have accepted the mail", { event: "delivery-failed", mailPath: "users/u1/mail/m1", state: "ERROR", code: "outcome-unknown", provider: "smtp" }],
    ]);
    expect(lines[0][2]).not.toHaveProperty("profile");
  });

  test("the sender profile, when the send names one, is its own field", () => {
    const [[, , fields]] = captured(() => logs.deliveryFailed("mail/m1", { code: "timeout", state: "PENDING", message: "late" }, { provider: "sendgrid", profile: "billing" }));
    expect(fields).toMatchObject({ event: "delivery-failed", state: "PENDING", code: "timeout", provider: "sendgrid", profile: "billing" });
    const [[, message, delivered]] = captured(() => logs.delivered("mail/m1", { messageId: "<1@x>", accepted: ["a@example.com"], rejected: [] }, { provider: "smtp", profile: "billing" }));
    expect(message).toBe("Delivered email");
    expect(delivered).toEqual({ event: "mail-delivered", mailPath: "mail/m1", state: "SUCCESS", provider: "smtp", profile: "billing", messageId: "<1@x>", accepted: 1, rejected: 0 });
  });

  test("every way a mail ends in ERROR outside a send says state ERROR with its code", () => {
    expect(captured(() => logs.leaseExpired("mail/m1", 2))).toEqual([
      ["warn", "Processing lease expired; the mail was marked as ERROR", { event: "lease-expired", mailPath: "mail/m1", state: "ERROR", code: "lease-expired", attempts: 2 }],
    ]);
    expect(captured(() => logs.invalidDocument("mail/m1", 'Invalid field "to".'))[0][2]).toEqual({ event: "document-invalid", mailPath: "mail/m1", state: "ERROR", code: "invalid-document" });
    // The value found is not the state: it is reported beside it.
    expect(captured(() => logs.unknownState("mail/m1", "WAITING"))[0][2]).toEqual({ event: "unknown-state", mailPath: "mail/m1", state: "ERROR", code: "unknown-state", found: "WAITING" });
  });

  test("a sweep out of time names the query it stopped and how far it got", () => {
    expect(captured(() => logs.sweepOutOfBudget("delivery.nextAttemptTime", "mail", 4))).toEqual([
      [
        "warn",
        "The scheduled sweep ran out of time while querying delivery.nextAttemptTime; the next run continues where it stopped.",
        { event: "sweep-out-of-budget", code: "sweep-out-of-budget", field: "delivery.nextAttemptTime", mailCollection: "mail", pages: 4 },
      ],
    ]);
  });

  test("a bounce or complaint: one line with its kind and provider, never the address or the provider's reason", () => {
    const report = { source: "sendgrid" as const, mailPath: "mail/m1", recipient: "ada@example.com", status: "bounced" as const, bounceType: "hard" as const, reason: "550 <ada@example.com> unknown" };
    const lines = captured(() => logs.recipientReported(report));
    expect(lines).toEqual([["info", "A recipient's mail bounced", { event: "recipient-reported", mailPath: "mail/m1", provider: "sendgrid", recipientStatus: "bounced", bounceType: "hard" }]]);
    const complaint = captured(() => logs.recipientReported({ ...report, status: "complained", bounceType: undefined }));
    expect(complaint).toEqual([["info", "A recipient marked the mail as spam", { event: "recipient-reported", mailPath: "mail/m1", provider: "sendgrid", recipientStatus: "complained" }]]);
    expect(JSON.stringify([lines, complaint])).not.toContain("ada@");
  });

  test("the sweep's summary says whether work was left for the next run", () => {
    expect(captured(() => logs.maintenanceDone({ expired: 0, released: 0, cleaned: 0, skipped: 0, foreign: 0, truncated: false }))).toEqual([]);
    expect(captured(() => logs.maintenanceDone({ expired: 1, released: 0, cleaned: 0, skipped: 0, foreign: 0, truncated: true }))[0][2]).toEqual({
      event: "sweep-finished",
      expired: 1,
      released: 0,
      cleaned: 0,
      skipped: 0,
      foreign: 0,
      truncated: true,
    });
  });

  test("codes of thrown values are kept when they look like codes, and replaced otherwise", () => {
    const coded = Object.assign(new Error("no"), { code: "auth-failed" });
    expect(captured(() => logs.transportInitFailed(coded))[0][2]).toEqual({ event: "transport-init-failed", code: "auth-failed" });
    // A gRPC status is a number, and a stranger's code may be anything: neither becomes a metric's value.
    expect(captured(() => logs.unexpectedError("mail/m1", Object.assign(new Error("x"), { code: 14 })))[0][2]).toMatchObject({ code: "unexpected-error" });
    expect(captured(() => logs.unexpectedError("mail/m1", Object.assign(new Error("x"), { code: "Some Text with spaces" })))[0][2]).toMatchObject({ code: "unexpected-error" });
  });

  test("secrets are still scrubbed from the message of a failed send", () => {
    logs.registerSecrets(["hunter2-secret"]);
    const [[, message]] = captured(() => logs.deliveryFailed("mail/m1", { code: "auth-failed", state: "ERROR", message: "refused hunter2-secret" }, { provider: "smtp" }));
    expect(message).toBe("Delivery failed: refused [REDACTED]");
  });
});

describe("every log line", () => {
  const lines: LogLine[] = emitEveryLine();

  test("the catalogue of the docs tests emits every exported log function", () => {
    expect(cataloguedFunctions().sort()).toEqual(logFunctions().sort());
    expect(new Set(lines.map((line) => line.fn))).toEqual(new Set(logFunctions()));
  });

  test("names its event, one event per function, in kebab case", () => {
    const byEvent = new Map<string, Set<string>>();
    for (const line of lines) {
      expect(line.fields.event).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      byEvent.set(String(line.fields.event), new Set([...(byEvent.get(String(line.fields.event)) ?? []), line.fn]));
    }
    for (const [event, fns] of byEvent) expect([event, [...fns]]).toEqual([event, [expect.any(String)]]);
  });

  test("calls the mail's path mailPath wherever it has one", () => {
    for (const line of lines) expect(line.fields).not.toHaveProperty("path");
  });
});
