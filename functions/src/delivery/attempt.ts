/**
 * One write to a mail document, acted on: decide → validate → initialise →
 * claim → send → record (the send and the record are in send-attempt.ts).
 * Every write is conditioned on the version this invocation last saw, so a
 * duplicate or stale trigger can never send twice. The invocation that
 * initialises a new mail claims and sends it at once rather than waiting for
 * the trigger its own PENDING write causes: one hop instead of two.
 */
import type { Firestore, Timestamp } from "firebase-admin/firestore";
import type { Config } from "../config";
import { eventBatch } from "../lifecycle/event-batch";
import type { Transition } from "../lifecycle/transitions";
import { needsLookups } from "../mail/compose-message";
import { preparePayload } from "../mail/prepare-payload";
import { expireAtFor } from "../mail/ttl";
import { validateMailDocument } from "../mail/validation";
import { selectProvider } from "../providers/select-provider";
import { ConfigError, ValidationError, errorText } from "../shared/errors";
import { isTransientStatus } from "../shared/firestore-status";
import * as logs from "../shared/logs";
import { checkUnsubscribeRequest } from "../unsubscribe/unsubscribe-request";
import { decide, type Decision } from "./decide";
import { attemptsOf, type State } from "./delivery-field";
import { planLeaseExpiry, recordLeaseExpiry } from "./lease-expiry";
import { claimMark, initializationId, newAttemptId, pendingMark } from "./marks";
import type { Mark } from "./write-outcome";
import { claimPatch, errorPatch, newDocumentErrorPatch, pendingPatch, replaceDeliveryWithErrorPatch, reschedulePatch, type Patch } from "./patches";
import type { Runtime } from "./runtime";
import { sendAndRecord, type CheckedMail, type MailContext } from "./send-attempt";
import { validateSendAt } from "./send-at";
import { instanceSender, type Sender } from "../tenants/sender";

/** A write to a mail document, as its trigger delivered it. */
export interface MailWrite {
  /** The trigger's id: the same in every delivery of one write. */
  triggerId: string;
  database: string;
  path: string;
  data: Record<string, unknown>;
  /** The document before the write; undefined for a create. */
  before?: Record<string, unknown>;
  createTime?: Timestamp;
  updateTime: Timestamp;
  firestore: Firestore;
}

/**
 * @throws a transient Firestore failure, for the platform to deliver the
 * trigger again (the mail may have nothing else to bring it back: no
 * `delivery` yet, a RETRY not claimed). Anything else is logged and ends here.
 */
export async function processMailWrite(runtime: Runtime, write: MailWrite): Promise<void> {
  const decision = decide(write.data, Date.now(), write.before, write.updateTime.toMillis());
  if (decision.action === "ignore") return;
  const { path, data, triggerId } = write;
  const events = eventBatch(path, write, runtime.lifecycle);
  try {
    const store = runtime.store(write.database);
    await act(decision, { runtime, store, path, data, version: write.updateTime, events, triggerId });
  } catch (error) {
    // Nothing was sent after a write that did not land; a claimed mail is recovered when its lease expires.
    logs.unexpectedError(path, error);
    await events.flush();
    if (isTransientStatus(error)) throw error;
    return;
  }
  await events.flush();
}

async function act(decision: Exclude<Decision, { action: "ignore" }>, mail: MailContext): Promise<void> {
  switch (decision.action) {
    case "expire": {
      const expiry = planLeaseExpiry(mail.data, decision.requested);
      const written = await mail.store.updateIf(mail.path, expiry.patch, mail.version);
      if (written) recordLeaseExpiry(mail.path, expiry, mail.events, written);
      else logs.writeLost(mail.path, "expire");
      return;
    }
    case "fail": {
      logs.unknownState(mail.path, (mail.data.delivery as { state?: unknown } | undefined)?.state);
      const patch = decision.replaceDelivery ? replaceDeliveryWithErrorPatch(Date.now(), decision.error) : errorPatch(decision.error, false);
      const moved: Transition = { from: "unknown", to: "ERROR", attempts: attemptsOf(mail.data), error: decision.error };
      await writeIfUnchanged(mail, patch, mail.version, "fail", moved);
      return;
    }
    case "schedule":
      await writeIfUnchanged(mail, reschedulePatch(decision.dueAt), mail.version, "schedule");
      return;
    case "initialize":
    case "claim":
      await deliver(decision, mail);
  }
}

async function deliver(decision: Extract<Decision, { action: "initialize" | "claim" }>, mail: MailContext): Promise<void> {
  const isNew = decision.action === "initialize";
  const from = isNew ? "PENDING" : stateOf(mail.data);
  const attemptsBefore = isNew ? 0 : attemptsOf(mail.data);

  // Checked before claiming: a mail that cannot be sent goes to ERROR in one
  // write and never holds a lease. Reads (templates, uids) wait for the claim,
  // so that the invocations that lose it read nothing.
  const checked = await validate(mail);
  if ("error" in checked) {
    logs.invalidDocument(mail.path, checked.error);
    const now = Date.now();
    const patch = isNew ? newDocumentErrorPatch(now, checked.error, checked.config && expireAtFor(checked.config, now)) : errorPatch(checked.error, true);
    const moved: Transition = { from: isNew ? "new" : from, to: "ERROR", attempts: attemptsBefore + 1, error: checked.error };
    await writeIfUnchanged(mail, patch, mail.version, "reject", moved);
    return;
  }

  let version: Timestamp | null = mail.version;
  if (isNew) {
    const now = Date.now();
    const pendingId = initializationId(mail.triggerId);
    const pending = pendingPatch(now, pendingId, expireAtFor(checked.config, now), decision.dueAt);
    const moved: Transition = { from: "new", to: "PENDING", attempts: 0 };
    version = await writeIfUnchanged(mail, pending, version, "initialize", moved, pendingMark(pendingId));
    // A mail with `sendAt` waits for the sweep to release it.
    if (!version || decision.dueAt !== undefined) return;
  }

  const attemptId = newAttemptId();
  const { patch: claim, lease } = claimPatch(Date.now(), attemptId);
  const moved: Transition = { from, to: "PROCESSING", attempts: attemptsBefore };
  const claimed = await writeIfUnchanged(mail, claim, version, "claim", moved, claimMark(attemptId));
  if (claimed) await sendAndRecord(mail, checked, { attemptId, attemptsBefore }, lease, claimed);
}

/**
 * Everything checkable before the claim: the params, the document, and the
 * sender (with profiles, the tenant's profile document, cached; its secrets
 * are read only by the attempt that claims the mail).
 * @throws a transient Firestore failure reading the profile
 */
async function validate(mail: MailContext): Promise<CheckedMail | { error: string; config?: Config }> {
  let config: Config | undefined;
  try {
    config = mail.runtime.config();
    const { mail: request, ignoredFields } = validateMailDocument(mail.data);
    validateSendAt(mail.data);
    const sender = await senderFor(mail.runtime, config, mail.path);
    config = sender.config;
    selectProvider(config).checkFields(request);
    // Each separate message names one recipient, which is all a link needs.
    checkUnsubscribeRequest(request.separateMessages ? { ...request, to: [], toUids: ["each recipient"] } : request, config);
    if (ignoredFields.length > 0) logs.ignoredMessageFields(mail.path, ignoredFields);
    return needsLookups(request) ? { config, sender, mail: request } : { config, sender, mail: request, message: preparePayload(request, config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      logs.configInvalid(error.message);
      return { error: error.message };
    }
    if (error instanceof ValidationError) return { error: error.message, config };
    if (isTransientStatus(error)) throw error;
    // A bug in code without I/O would fail this mail every time: ERROR, rather than no state at all.
    logs.unexpectedError(mail.path, error);
    return { error: `The mail document could not be checked: ${errorText(error)}`, config };
  }
}

function senderFor(runtime: Runtime, config: Config, path: string): Promise<Sender> {
  if (!config.senderProfiles) return Promise.resolve(instanceSender(config, path, (forConfig) => runtime.transport(forConfig)));
  if (!runtime.profiles) throw new ConfigError("SENDER_PROFILES_COLLECTION is set, but this runtime reads no sender profiles");
  return runtime.profiles.sender(config, path);
}

/** The mail's state as the decision read it (decide() only claims PENDING or RETRY). */
function stateOf(data: Record<string, unknown>): State {
  return (data.delivery as { state: State }).state;
}

/** A conditional write; once it landed, its transition's lifecycle events go out. */
async function writeIfUnchanged(mail: MailContext, patch: Patch, version: Timestamp, step: string, moved?: Transition, mark?: Mark): Promise<Timestamp | null> {
  const written = await mail.store.updateIf(mail.path, patch, version, mark);
  if (!written) {
    logs.writeLost(mail.path, step);
    return null;
  }
  mail.events.wrote(patch, written);
  if (moved) mail.events.moved(moved);
  return written;
}
