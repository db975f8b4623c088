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
import { composeMessage, needsLookups } from "../compose-message";
import { getConfig, type Config } from "../config";
import { decide, type Decision } from "../delivery/decide";
import { attemptsOf } from "../delivery/delivery-field";
import {
  claimPatch,
  errorPatch,
  newDocumentErrorPatch,
  pendingPatch,
  replaceDeliveryWithErrorPatch,
  reschedulePatch,
  successPatch,
  type Patch,
} from "../delivery/patches";
import { failurePatch, type RetrySettings } from "../delivery/retry-policy";
import { validateSendAt } from "../delivery/send-at";
import { downloadTimeLeft, MIN_SEND_MS, sendTimeLeft } from "../delivery/send-window";
import { claimMark, nonceMicros, outcomeMark, pendingMark } from "../delivery/marks";
import type { AttemptOwner, Mark, MailStore } from "../delivery/store";
import { ConfigError, DeliveryError, SendEmailError, ValidationError, errorText } from "../errors";
import { eventBatch, type EventBatch } from "../event-batch";
import * as logs from "../logs";
import { preparePayload } from "../prepare-payload";
import { SEND_DEADLINE_MS } from "../providers/provider";
import { selectProvider } from "../providers/select-provider";
import { getStore, getTransport } from "../runtime";
import { expireAtFor } from "../ttl";
import type { DeliveryInfo, MailRequest } from "../types";
import { validateMailDocument } from "../validation";
import { checkUnsubscribeRequest } from "../unsubscribe/unsubscribe-request";
import { planLeaseExpiry, recordLeaseExpiry } from "./lease-expiry";
import { prepareSend } from "./prepare-send";

export type MailWriteEvent = FirestoreEvent<Change<DocumentSnapshot> | undefined, { documentId: string }>;

export async function handleMailWrite(event: MailWriteEvent): Promise<void> {
  const after = event.data?.after;
  // Decoded once: data() builds the whole document afresh on every call.
  const current = after?.exists ? after.data() : undefined;
  const decision = decide(current, Date.now());
  if (decision.action === "ignore" || !after?.updateTime) return;

  const path = after.ref.path;
  const data = current ?? {};
  const start = { data, createTime: after.createTime, updateTime: after.updateTime, firestore: after.ref.firestore };
  const events = eventBatch(path, start);
  try {
    const store = getStore(event.database || "(default)");
    await carryOut(decision, { store, path, data, version: after.updateTime, events });
  } catch (error) {
    // Firestore itself failed (unavailable, permission denied). Nothing was
    // sent after a write that did not land; a claimed document is recovered
    // when its lease expires.
    logs.unexpectedError(path, error);
  }
  await events.flush();
}

interface Job {
  store: MailStore;
  path: string;
  data: Record<string, unknown>;
  /** The update time of the version of the document this invocation acts on. */
  version: Timestamp;
  /** Lifecycle events, published for each transition this invocation's writes made. */
  events: EventBatch;
}

async function carryOut(decision: Exclude<Decision, { action: "ignore" }>, job: Job): Promise<void> {
  const { path, version, events } = job;
  switch (decision.action) {
    case "expire": {
      const expiry = planLeaseExpiry(retrySettings(), job.data, Date.now());
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
    const pending = pendingPatch(now, expireAtFor(config, now), dueAt);
    const startTime = Timestamp.fromMillis(now);
    version = await writeOrStop(job, pending, version, "initialize", pendingMark(startTime));
    if (!version) return;
    events.publish("onStart", {});
    events.publish("onPending", { state: "PENDING", attempts: 0 });
    // A mail scheduled with `sendAt` waits for the scheduled dispatcher.
    if (dueAt !== undefined) return;
  }

  const { patch: claim, lease, startTime } = claimPatch(Date.now(), nonceMicros());
  const claimed = await writeOrStop(job, claim, version, "claim", claimMark(lease));
  if (!claimed) return;
  if (decision.action === "claim" && decision.retry) events.publish("onRetry", { state: "PROCESSING", attempts: attemptsBefore });
  events.publish("onProcessing", { state: "PROCESSING", attempts: attemptsBefore });

  const owner: AttemptOwner = { lease, attemptsBefore };
  const compose = () => checked.message ?? composeMessage(mail, config, store.db, path);
  const outcome = await attempt(store.db, path, config, owner, mail, compose);
  // The conditional write is the cheap path; if anything touched the document
  // during the send, fall back to checking, in a transaction, that this
  // attempt still owns it, so a late result never overwrites a newer attempt.
  // No mark for the cheap write: whenever it does not land (its answer lost
  // included), the transaction below reads the document once and recognises
  // an outcome that did land by its mark, so a read-back here would only
  // repeat that read.
  const applied = outcomeMark(startTime, outcome.state, outcome.error, attemptsBefore + 1);
  const written = await store.updateIf(path, outcome.patch, claimed);
  const recorded =
    written !== null
      ? "owned"
      : await store.updateIfStillOwned(path, owner, outcome.patch, outcome.recoveredPatch, applied);
  if (!recorded) {
    logs.lateResultDiscarded(path, outcome.state);
    return;
  }
  events.wrote(recorded === "owned" ? outcome.patch : (outcome.recoveredPatch ?? outcome.patch), written ?? undefined);
  const result = { state: outcome.state, attempts: attemptsBefore + 1, error: outcome.error, info: outcome.info };
  events.publish(outcome.info ? "onSuccess" : "onError", result);
  // Recovery already published the end of this attempt when it gave up on it.
  if (recorded === "owned") events.publish("onComplete", result);
}

type Checked = { config: Config; mail: MailRequest; message?: SendMailOptions } | { error: string; config?: Config };

/** Everything that can be checked without I/O: the params and the document. */
function check(job: Job): Checked {
  let config: Config | undefined;
  try {
    config = getConfig();
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

/** Retry settings; under a broken config, none (a stuck lease must still end, in ERROR). */
function retrySettings(): RetrySettings {
  try {
    return getConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { maxAttempts: 1, retryBackoffSeconds: 60 };
  }
}

interface Outcome {
  state: "SUCCESS" | "ERROR" | "PENDING";
  /** On success, what `delivery.info` records. */
  info: DeliveryInfo | null;
  /** On failure, what `delivery.error` records. */
  error: string | null;
  patch: Patch;
  /** What to write if lease recovery already gave up on this attempt (see MailStore.updateIfStillOwned). */
  recoveredPatch?: Patch;
}

/** One delivery attempt: compose (if not done yet), send, and say what to record. */
async function attempt(
  db: Firestore,
  path: string,
  config: Config,
  owner: AttemptOwner,
  mail: MailRequest,
  compose: () => SendMailOptions | Promise<SendMailOptions>,
): Promise<Outcome> {
  try {
    const leaseEnds = owner.lease.toMillis();
    // Every transport gets content, never a URL: downloads happen here, under one address policy.
    const prepared = await prepareSend(db, path, config, mail, await compose());
    const message = await downloadAttachments(prepared.message, { deadlineMs: downloadTimeLeft(leaseEnds, Date.now()) });
    const deadlineMs = sendTimeLeft(leaseEnds, Date.now(), SEND_DEADLINE_MS);
    if (deadlineMs < MIN_SEND_MS) throw tooLateToSend();
    const sent = await getTransport(config).send(message, prepared.mail, { deadlineMs });
    const info = prepared.suppressed.length > 0 ? { ...sent, suppressed: prepared.suppressed } : sent;
    logs.delivered(path, info);
    return { state: "SUCCESS", info, error: null, patch: successPatch(info), recoveredPatch: successPatch(info, false) };
  } catch (error) {
    const text = logs.redact(errorText(error));
    const transient = error instanceof SendEmailError && error.transient;
    logs.deliveryFailed(path, error instanceof SendEmailError ? error.code : "unknown", text);
    const { state, patch } = failurePatch(config, text, transient, owner.attemptsBefore, Date.now());
    // A retry already scheduled by lease recovery stands; a final error replaces its guess.
    return { state, info: null, error: text, patch, recoveredPatch: state === "ERROR" ? errorPatch(text, false) : undefined };
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
