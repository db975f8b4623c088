/**
 * processQueue: runs on every write to a mail document. The pipeline is
 * decide → check → initialise → claim → compose → send → record, and every
 * write is conditioned on the version of the document this invocation last
 * saw, so that a duplicate or stale event can never send twice.
 *
 * The invocation that initialises a new document claims and sends it at
 * once, rather than waiting for the trigger its own PENDING write causes:
 * one trigger hop instead of two.
 */
import type { Change, DocumentSnapshot, FirestoreEvent } from "firebase-functions/v2/firestore";
import type { SendMailOptions } from "nodemailer";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { downloadAttachments } from "../attachments/download-attachments";
import { composeMessage, needsLookups } from "../mail/compose-message";
import type { Config } from "../config";
import { decide, type Decision } from "../delivery/decide";
import { boundedInfo, minimalInfo } from "../delivery/bounded-info";
import { attemptsOf } from "../delivery/delivery-field";
import {
  claimPatch,
  errorPatch,
  honouredRetryPatch,
  newDocumentErrorPatch,
  pendingPatch,
  replaceDeliveryWithErrorPatch,
  requestAnswer,
  REQUEST_REASONS,
  reschedulePatch,
  successPatch,
  type Patch,
} from "../delivery/patches";
import { failurePatch } from "../delivery/retry-policy";
import { validateSendAt } from "../delivery/send-at";
import { downloadTimeLeft, leaseEnd, MIN_SEND_MS, SEND_DEADLINE_MS, sendTimeLeft } from "../delivery/budget";
import { claimMark, initializationId, newAttemptId, outcomeMark, pendingMark } from "../delivery/marks";
import type { AttemptOwner, Mark, MailStore, OutcomeWrites } from "../delivery/store";
import { ConfigError, DeliveryError, SendEmailError, ValidationError, errorText } from "../shared/errors";
import { eventBatch, type EventBatch } from "../lifecycle/event-batch";
import * as logs from "../shared/logs";
import { preparePayload } from "../mail/prepare-payload";
import { isTransientStatus, STATUS, statusOf } from "../shared/firestore-status";
import { selectProvider } from "../providers/select-provider";
import { defaultRuntime, type Runtime } from "./runtime";
import { expireAtFor } from "../mail/ttl";
import type { DeliveryInfo, MailRequest } from "../shared/types";
import { validateMailDocument } from "../mail/validation";
import { checkUnsubscribeRequest } from "../unsubscribe/unsubscribe-request";
import { planLeaseExpiry, recordLeaseExpiry } from "./lease-expiry";
import { prepareSend } from "./prepare-send";

/**
 * Whether the platform delivers the event of a failed invocation again (the
 * trigger's retry policy; extension.yaml says the same). The handler fails
 * only when Firestore failed it, so that a mail it could not initialise or
 * claim (no `delivery` yet, a RETRY) is looked at again.
 */
export const PROCESS_QUEUE_RETRIES = true;

export type MailWriteEvent = FirestoreEvent<Change<DocumentSnapshot> | undefined, { documentId: string }>;

export async function handleMailWrite(event: MailWriteEvent, runtime: Runtime = defaultRuntime): Promise<void> {
  const after = event.data?.after;
  // Decoded once: data() builds the whole document afresh on every call.
  const current = after?.exists ? after.data() : undefined;
  const before = event.data?.before;
  const decision = decide(current, Date.now(), before?.exists ? before.data() : undefined, after?.updateTime?.toMillis());
  if (decision.action === "ignore" || !after?.updateTime) return;

  const path = after.ref.path;
  const data = current ?? {};
  const start = { data, createTime: after.createTime, updateTime: after.updateTime, firestore: after.ref.firestore };
  const events = eventBatch(path, start, runtime.lifecycle);
  try {
    const store = runtime.store(event.database || "(default)");
    await carryOut(decision, { runtime, store, path, data, version: after.updateTime, events, eventId: event.id });
  } catch (error) {
    // Firestore itself failed. Nothing was sent after a write that did not
    // land; a claimed document is recovered when its lease expires. An
    // outage is worth the platform's retry of this event (the mail may have
    // nothing else to bring it back: no `delivery` yet, a RETRY not claimed);
    // anything else (permission denied) would fail the same way again.
    logs.unexpectedError(path, error);
    await events.flush();
    if (isTransientStatus(error)) throw error;
    return;
  }
  await events.flush();
}

/** One invocation's work on one mail document. */
interface Job {
  runtime: Runtime;
  store: MailStore;
  path: string;
  data: Record<string, unknown>;
  /** The update time of the version of the document this invocation acts on. */
  version: Timestamp;
  /** Lifecycle events, published for each transition this invocation's writes made. */
  events: EventBatch;
  /** The trigger event's id (the same in every delivery of that event). */
  eventId: string;
}

async function carryOut(decision: Exclude<Decision, { action: "ignore" }>, job: Job): Promise<void> {
  const { path, version, events } = job;
  switch (decision.action) {
    case "expire": {
      const expiry = planLeaseExpiry(job.data, decision.requested);
      const written = await job.store.updateIf(path, expiry.patch, version);
      if (written) recordLeaseExpiry(path, expiry, events, written);
      else logs.writeLost(path, "expire");
      return;
    }
    case "fail": {
      logs.unknownState(path, (job.data.delivery as { state?: unknown } | undefined)?.state);
      const patch = decision.replaceDelivery
        ? replaceDeliveryWithErrorPatch(Date.now(), decision.error)
        : errorPatch(decision.error, false);
      if (await writeOrStop(job, patch, version, "fail")) {
        events.publish("onError", { state: "ERROR", attempts: attemptsOf(job.data), error: decision.error });
      }
      return;
    }
    case "schedule":
      await writeOrStop(job, reschedulePatch(decision.dueAt), version, "schedule");
      return;
    case "initialize":
    case "claim":
      await deliver(decision, job);
      return;
  }
}

async function deliver(decision: Extract<Decision, { action: "initialize" | "claim" }>, job: Job): Promise<void> {
  const { store, path, events } = job;
  const isNew = decision.action === "initialize";
  const attemptsBefore = isNew ? 0 : attemptsOf(job.data);
  const attemptId = newAttemptId();

  // Validate before claiming: a document that cannot be sent goes straight
  // to ERROR in one write and never holds a lease. What needs Firestore reads
  // (templates, uids) waits until after the claim, so that losing events read nothing.
  const checked = check(job);
  if ("error" in checked) {
    logs.invalidDocument(path, checked.error);
    const now = Date.now();
    const patch = isNew
      ? newDocumentErrorPatch(now, checked.error, checked.config && expireAtFor(checked.config, now))
      : errorPatch(checked.error, true);
    if (await writeOrStop(job, patch, job.version, "reject")) {
      if (isNew) events.publish("onStart", {});
      const failed = { state: "ERROR", attempts: attemptsBefore + 1, error: checked.error };
      events.publish("onError", failed);
      events.publish("onComplete", failed);
    }
    return;
  }
  const { config, mail } = checked;

  let version: Timestamp | null = job.version;
  if (isNew) {
    const now = Date.now();
    const dueAt = decision.dueAt;
    const pendingId = initializationId(job.eventId);
    const pending = pendingPatch(now, pendingId, expireAtFor(config, now), dueAt);
    version = await writeOrStop(job, pending, version, "initialize", pendingMark(pendingId));
    if (!version) return;
    events.publish("onStart", {});
    events.publish("onPending", { state: "PENDING", attempts: 0 });
    // A mail scheduled with `sendAt` waits for the scheduled dispatcher.
    if (dueAt !== undefined) return;
  }

  const { patch: claim, lease } = claimPatch(Date.now(), attemptId);
  const claimed = await writeOrStop(job, claim, version, "claim", claimMark(attemptId));
  if (!claimed) return;
  if (decision.action === "claim" && decision.retry) events.publish("onRetry", { state: "PROCESSING", attempts: attemptsBefore });
  events.publish("onProcessing", { state: "PROCESSING", attempts: attemptsBefore });

  const owner: AttemptOwner = { attemptId, attemptsBefore };
  const compose = () => checked.message ?? composeMessage(mail, config, store.db, path);
  // Counted as observers count it: from the claim's landing if that came late.
  const leaseEnds = leaseEnd(lease.toMillis(), claimed.toMillis());
  const attempted = await attempt(job.runtime, store.db, path, config, leaseEnds, attemptsBefore, mail, compose);
  const { outcome, writes, written, recorded } = await recordFitting(store, path, claimed, owner, attempted);
  if (!recorded) {
    logs.lateResultDiscarded(path, outcome.state);
    return;
  }
  const patch = writes[recorded]?.patch ?? outcome.patch;
  events.wrote(patch, written ?? undefined);
  const state = recorded === "requested" ? requestedState(outcome) : outcome.state;
  const result = { state, attempts: attemptsBefore + 1, error: outcome.error, info: outcome.info };
  events.publish(outcome.info ? "onSuccess" : "onError", result);
  // Recovery already published the end of this attempt when it gave up on it.
  if (recorded !== "recovered" && state !== "PENDING") events.publish("onComplete", result);
}

/**
 * Records the outcome. A success Firestore refuses as too large for the
 * document (INVALID_ARGUMENT: the mail is near the 1 MiB limit) is recorded
 * again with the minimal info, which still says what happened.
 */
async function recordFitting(store: MailStore, path: string, claimed: Timestamp, owner: AttemptOwner, outcome: Outcome) {
  try {
    return await recordAttempt(store, path, claimed, owner, outcome);
  } catch (error) {
    if (!outcome.info || statusOf(error) !== STATUS.INVALID_ARGUMENT) throw error;
    logs.outcomeInfoReduced(path, logs.redact(errorText(error)));
    const info = minimalInfo(outcome.info);
    return recordAttempt(store, path, claimed, owner, { ...outcome, info, patch: successPatch(info) });
  }
}

/**
 * The cheap path: one conditional write on the claim's version. If anything
 * touched the document during the send (a person's RETRY, an edit) or the
 * answer was lost, recordOutcome checks in a transaction that this attempt
 * still owns the mail (and recognises an outcome that did land by its
 * mark), so a late result never overwrites a newer attempt.
 */
async function recordAttempt(store: MailStore, path: string, claimed: Timestamp, owner: AttemptOwner, outcome: Outcome) {
  const writes = outcomeWrites(outcome, owner);
  const written = await store.updateIf(path, outcome.patch, claimed, undefined, 0);
  const recorded = written !== null ? "owned" : await store.recordOutcome(path, owner, writes);
  return { outcome, writes, written, recorded };
}

/** The state an outcome writes when it answers a person's request (see outcomeWrites). */
function requestedState(outcome: Outcome): "SUCCESS" | "ERROR" | "PENDING" {
  if (outcome.state === "SUCCESS") return "SUCCESS";
  return outcome.unknown ? "ERROR" : "PENDING";
}

/**
 * Every version an attempt may record, by what happened to its document
 * during the send (MailStore.recordOutcome), each with the mark that
 * recognises it once written.
 */
function outcomeWrites(outcome: Outcome, owner: AttemptOwner): OutcomeWrites {
  const attempts = owner.attemptsBefore + 1;
  const marked = (patch: Patch, state: string) => ({ patch, mark: outcomeMark(owner.attemptId, state, outcome.error, attempts) });
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

type Checked = { config: Config; mail: MailRequest; message?: SendMailOptions } | { error: string; config?: Config };

/** Everything that can be checked without I/O: the params and the document. */
function check(job: Job): Checked {
  let config: Config | undefined;
  try {
    config = job.runtime.config();
    const { mail, ignoredFields } = validateMailDocument(job.data);
    validateSendAt(job.data);
    selectProvider(config).checkFields(mail);
    checkUnsubscribeRequest(mail, config);
    if (ignoredFields.length > 0) logs.ignoredMessageFields(job.path, ignoredFields);
    if (needsLookups(mail)) return { config, mail };
    return { config, mail, message: preparePayload(mail, config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      logs.configInvalid(error.message);
      return { error: error.message };
    }
    if (error instanceof ValidationError) return { error: error.message, config };
    // A bug in checking code that does no I/O would fail this document every
    // time: end it in ERROR rather than leave it without a delivery state.
    logs.unexpectedError(job.path, error);
    return { error: `The mail document could not be checked: ${errorText(error)}`, config };
  }
}

interface Outcome {
  state: "SUCCESS" | "ERROR" | "PENDING";
  /** On success, what `delivery.info` records. */
  info: DeliveryInfo | null;
  /** On failure, what `delivery.error` records. */
  error: string | null;
  /** What to write while the attempt still holds the mail. */
  patch: Patch;
  /** The send's outcome is unknown: the provider may have accepted the mail. */
  unknown: boolean;
}

/** One delivery attempt: compose (if not done yet), send, and say what to record. */
async function attempt(
  runtime: Runtime,
  db: Firestore,
  path: string,
  config: Config,
  leaseEnds: number,
  attemptsBefore: number,
  mail: MailRequest,
  compose: () => SendMailOptions | Promise<SendMailOptions>,
): Promise<Outcome> {
  try {
    // Every transport gets content, never a URL: downloads happen here, under one address policy.
    const prepared = await prepareSend(db, path, config, mail, await compose());
    const message = await downloadAttachments(prepared.message, { deadlineMs: downloadTimeLeft(leaseEnds, Date.now()) });
    const deadlineMs = sendTimeLeft(leaseEnds, Date.now(), SEND_DEADLINE_MS);
    if (deadlineMs < MIN_SEND_MS) throw tooLateToSend();
    const sent = await runtime.transport(config).send(message, prepared.mail, { deadlineMs });
    const full = prepared.suppressed.length > 0 ? { ...sent, suppressed: prepared.suppressed } : sent;
    logs.delivered(path, full);
    const info = boundedInfo(full);
    return { state: "SUCCESS", info, error: null, patch: successPatch(info), unknown: false };
  } catch (error) {
    const text = logs.redact(errorText(error));
    const transient = error instanceof SendEmailError && error.transient;
    logs.deliveryFailed(path, error instanceof SendEmailError ? error.code : "unknown", text);
    const { state, patch } = failurePatch(config, text, transient, attemptsBefore, Date.now());
    const unknown = error instanceof SendEmailError && error.code === "outcome-unknown";
    return { state, info: null, error: text, patch, unknown };
  }
}

/** Nothing was sent: the lease had almost run out before the send could start. */
function tooLateToSend(): DeliveryError {
  return new DeliveryError(
    "timeout",
    "The mail was not sent: claiming it and reading its template, recipients or attachments took so long that its processing lease had almost run out. It can be sent again.",
    { transient: true },
  );
}

/** A conditional write; the events published after it carry the document it produced. */
async function writeOrStop(job: Job, patch: Patch, version: Timestamp, step: string, mark?: Mark): Promise<Timestamp | null> {
  const written = await job.store.updateIf(job.path, patch, version, mark);
  if (written) job.events.wrote(patch, written);
  else logs.writeLost(job.path, step);
  return written;
}
