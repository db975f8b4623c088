/**
 * A claimed mail's attempt: compose, prepare (suppression, unsubscribe link,
 * tracking), download attachments, send within the lease, and record the
 * outcome so that a late result never overwrites a newer attempt.
 */
import type { Timestamp } from "firebase-admin/firestore";
import { archiveMessage } from "../archive/archive-message";
import type { EventBatch } from "../lifecycle/event-batch";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import { composeMessage } from "../mail/compose-message";
import { withHeaders } from "../mail/prepare-payload";
import { selectProvider } from "../providers/select-provider";
import { DeliveryError, SendEmailError, errorText } from "../shared/errors";
import { grpcStatus, statusOf } from "../shared/firestore-status";
import * as logs from "../shared/logs";
import type { DeliveryInfo, MailRequest } from "../shared/types";
import { dropSuppressed } from "../suppression/drop-suppressed";
import { messageRecipients } from "../suppression/message-recipients";
import { unsubscribeHeadersFor } from "../unsubscribe/unsubscribe-request";
import { boundedInfo, minimalInfo } from "./bounded-info";
import { downloadTimeLeft, leaseEnd, MIN_SEND_MS, SEND_DEADLINE_MS, sendTimeLeft } from "../shared/budget";
import { outcomeMark } from "./marks";
import { errorPatch, honouredRetryPatch, requestAnswer, REQUEST_REASONS, successPatch, type Patch } from "./patches";
import { failurePatch } from "./retry-policy";
import { sendSeparately, separateOutcome } from "./send-separately";
import type { Runtime } from "./runtime";
import type { OpenSender, Sender } from "../tenants/sender";
import type { AttemptOwner, MailStore, OutcomeWrites } from "./store";

/** One invocation's view of one mail. */
export interface MailContext {
  runtime: Runtime;
  store: MailStore;
  path: string;
  data: Record<string, unknown>;
  /** The update time of the version this invocation acts on. */
  version: Timestamp;
  events: EventBatch;
  triggerId: string;
}

/** A claimed mail, validated: who sends it, and its composed message when no lookup is needed. */
export type CheckedMail = { config: Config; sender: Sender; mail: MailRequest; message?: SendMailOptions };

interface Outcome {
  state: "SUCCESS" | "ERROR" | "PENDING";
  /** On success, what `delivery.info` records. */
  info: DeliveryInfo | null;
  /** On failure, what `delivery.error` records. */
  error: string | null;
  /** What to write while the attempt still holds the mail. */
  patch: Patch;
  /** The provider may have accepted the mail. */
  unknown: boolean;
  /** Written with every version the outcome may record (separate messages: `delivery.recipients`). */
  extra?: Patch;
  /** The latest version the attempt wrote, when it wrote after the claim (separate messages' checkpoints). */
  version?: Timestamp;
}

export async function sendAndRecord(mail: MailContext, checked: CheckedMail, owner: AttemptOwner, lease: Timestamp, claimed: Timestamp): Promise<void> {
  // Counted as observers count it: from the claim's landing if that came late.
  const leaseEnds = leaseEnd(lease.toMillis(), claimed.toMillis());
  const sent = await send(mail, checked, leaseEnds, owner, claimed);
  const recorded = await record(mail.store, mail.path, sent.version ?? claimed, owner, sent);
  if (!recorded) {
    logs.lateResultDiscarded(mail.path, sent.state);
    return;
  }
  const { patch, written, outcome } = recorded;
  mail.events.wrote(patch, written ?? undefined);
  const to = recorded.as === "requested" ? requestedState(outcome) : recorded.as === "recovered" ? (outcome.info ? "SUCCESS" : "ERROR") : outcome.state;
  const from = recorded.as === "recovered" ? "ERROR" : "PROCESSING";
  mail.events.moved({ from, to, attempts: owner.attemptsBefore + 1, error: outcome.error, info: outcome.info });
}

async function send(mail: MailContext, checked: CheckedMail, leaseEnds: number, owner: AttemptOwner, claimed: Timestamp): Promise<Outcome> {
  const { config } = checked;
  const { attemptsBefore } = owner;
  const sentWith = sentWithOf(checked);
  let opened: OpenSender | undefined;
  // Only a failure of the sender itself names the profile: a missing template is the mail's, not the tenant's sender's.
  let bySender = false;
  const throughSender = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      bySender = true;
      throw error;
    }
  };
  try {
    opened = await throughSender(() => checked.sender.open());
    if (checked.mail.separateMessages) return await sendEach(mail, checked, opened, leaseEnds, owner, claimed);
    const { message: composed, info: composedInfo } = checked.message ? { message: checked.message, info: {} } : await composeMessage(checked.mail, opened.config, mail.store.db, mail.runtime.templates, mail.path);
    const prepared = await prepare(mail, opened.config, checked.mail, composed);
    // Every transport gets content, never a URL: downloads happen here, under one address policy.
    const message = await mail.runtime.download(prepared.message, { deadlineMs: downloadTimeLeft(leaseEnds, Date.now()), mailPath: mail.path, config });
    let sent;
    try {
      sent = await throughSender(() => sendWithin(opened!, message, prepared.mail, leaseEnds));
    } catch (error) {
      // A refused login sent nothing: after a secret's rotation, one more try with its new value.
      if (!(error instanceof SendEmailError && error.code === "auth-failed" && (await checked.sender.renew()))) throw error;
      opened.release();
      opened = await throughSender(() => checked.sender.open());
      sent = await throughSender(() => sendWithin(opened!, message, prepared.mail, leaseEnds));
    }
    const full = prepared.suppressed.length > 0 ? { ...sent, ...composedInfo, suppressed: prepared.suppressed } : { ...sent, ...composedInfo };
    logs.delivered(mail.path, full, sentWith);
    // Opt-in (ARCHIVE_SENT_MAIL): one write of what was sent; it never throws, and a failure only leaves the reference out.
    const archived = config.archive && (await archiveMessage({ mailPath: mail.path, attemptId: owner.attemptId, message, messageId: sent.messageId }, { store: mail.store, settings: config.archive, mailCollection: config.mailCollection, leaseEnds }));
    const info = boundedInfo(archived ? { ...full, archive: archived } : full);
    return { state: "SUCCESS", info, error: null, patch: successPatch(info), unknown: false };
  } catch (error) {
    const text = logs.redact(bySender ? withProfile(checked.sender.profile, errorText(error)) : errorText(error));
    const failure = error instanceof SendEmailError ? error : undefined;
    const code = failure?.code ?? "unknown";
    const { state, patch } = failurePatch(config, text, failure?.transient ?? false, attemptsBefore, Date.now());
    logs.deliveryFailed(mail.path, { code, state, message: text }, sentWith);
    return { state, info: null, error: text, patch, unknown: failure?.code === "outcome-unknown" };
  } finally {
    opened?.release();
  }
}

/** One message per recipient (send-separately.ts), each through this attempt's own steps. */
async function sendEach(mail: MailContext, checked: CheckedMail, opened: OpenSender, leaseEnds: number, owner: AttemptOwner, claimed: Timestamp): Promise<Outcome> {
  const request = checked.mail;
  const { config } = opened;
  const byPerson = (mail.data.delivery as { state?: unknown } | undefined)?.state === "RETRY";
  const result = await sendSeparately(
    { runtime: mail.runtime, store: mail.store, path: mail.path, data: mail.data, request, config, attemptId: owner.attemptId, version: claimed, leaseEnds, byPerson },
    {
      prepare: (message) => prepare(mail, config, request, message),
      send: (message, fields) => sendWithin(opened, message, fields, leaseEnds),
      tooLate: tooLateToSend,
      sentWith: sentWithOf(checked),
      errorText: (error) => logs.redact(withProfile(checked.sender.profile, errorText(error))),
    },
  );
  return separateOutcome(result, checked.config, Date.now());
}

/** A tenant's error says whose sender failed, once. */
function withProfile(profile: string | undefined, text: string): string {
  const prefix = `Sender profile "${profile}": `;
  return profile === undefined || text.startsWith(prefix) ? text : prefix + text;
}

async function sendWithin(opened: OpenSender, message: SendMailOptions, fields: MailRequest, leaseEnds: number): Promise<DeliveryInfo> {
  const deadlineMs = sendTimeLeft(leaseEnds, Date.now(), SEND_DEADLINE_MS);
  if (deadlineMs < MIN_SEND_MS) throw tooLateToSend();
  return opened.transport.send(message, fields, { deadlineMs });
}

/**
 * The steps that serve delivery status after the send (docs/webhooks.md):
 * suppressed recipients dropped (one batched read), the one-click
 * unsubscribe link, the provider's tracking metadata. With none of their
 * params set the message passes untouched and nothing is read.
 */
async function prepare(mail: MailContext, config: Config, request: MailRequest, composed: SendMailOptions) {
  let message = composed;
  let suppressed: string[] = [];
  const collection = config.webhooks.suppressionCollection;
  if (collection) {
    ({ message, suppressed } = await dropSuppressed(mail.store.db, collection, message, request.stream));
    if (suppressed.length > 0) logs.recipientsSuppressed(mail.path, suppressed.length, messageRecipients(message).length);
  }
  message = withHeaders(message, unsubscribeHeadersFor(config, request, message, mail.path));
  const tracked = selectProvider(config).track?.(config, mail.path, message, request) ?? { message, mail: request };
  return { ...tracked, suppressed };
}

/** What the send's log lines say of who sent: the provider the mail's sender uses, and its profile if it has one. */
function sentWithOf(checked: CheckedMail): logs.SentWith {
  return { provider: selectProvider(checked.sender.config).name, profile: checked.sender.profile };
}

function tooLateToSend(): DeliveryError {
  return new DeliveryError(
    "timeout",
    "The mail was not sent: claiming it and reading its template, recipients or attachments took so long that its processing lease had almost run out. It can be sent again.",
    { transient: true },
  );
}

/**
 * The cheap path is one conditional write on the claim's version. If anything
 * touched the mail during the send (a person's RETRY, an edit) or the answer
 * was lost, a transaction checks that this attempt still owns it (recognising
 * an outcome that did land by its mark). A success too large for the document
 * (INVALID_ARGUMENT near the 1 MiB limit) is recorded again with minimal info.
 */
async function record(store: MailStore, path: string, claimed: Timestamp, owner: AttemptOwner, outcome: Outcome, reduced = false) {
  try {
    const writes = outcomeWrites(outcome, owner);
    const written = await store.updateIf(path, writes.owned.patch, claimed, undefined, 0);
    const as = written !== null ? "owned" : await store.recordOutcome(path, owner, writes);
    return as && { as, patch: writes[as]?.patch ?? writes.owned.patch, written, outcome };
  } catch (error) {
    if (reduced || !outcome.info || statusOf(error) !== grpcStatus().INVALID_ARGUMENT) throw error;
    logs.outcomeInfoReduced(path, logs.redact(errorText(error)));
    const info = minimalInfo(outcome.info);
    return record(store, path, claimed, owner, { ...outcome, info, patch: successPatch(info) }, true);
  }
}

/** The state an outcome writes when it answers a person's request made during the attempt. */
function requestedState(outcome: Outcome): "SUCCESS" | "ERROR" | "PENDING" {
  if (outcome.state === "SUCCESS") return "SUCCESS";
  return outcome.unknown ? "ERROR" : "PENDING";
}

/** Every version an attempt may record, by what happened to its mail during the send, each with its mark. */
function outcomeWrites(outcome: Outcome, owner: AttemptOwner): OutcomeWrites {
  const attempts = owner.attemptsBefore + 1;
  const marked = (patch: Patch, state: string) => ({ patch: { ...patch, ...outcome.extra }, mark: outcomeMark(owner.attemptId, state, outcome.error, attempts) });
  const owned = marked(outcome.patch, outcome.state);
  if (outcome.info) {
    return {
      owned,
      requested: marked({ ...outcome.patch, ...requestAnswer("declined", REQUEST_REASONS.succeeded) }, "SUCCESS"),
      recovered: marked(successPatch(outcome.info, false), "SUCCESS"),
    };
  }
  const text = outcome.error ?? "";
  return {
    owned,
    // Sent again at the person's request only when the attempt certainly did not deliver the mail.
    requested: outcome.unknown
      ? marked({ ...errorPatch(text, true), ...requestAnswer("declined", REQUEST_REASONS.unknown) }, "ERROR")
      : marked(honouredRetryPatch(text, Date.now()), "PENDING"),
    recovered: marked(errorPatch(text, false), "ERROR"),
  };
}
