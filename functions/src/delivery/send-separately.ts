/**
 * A claimed mail with `separateMessages`: one message per recipient, sent in
 * batches. Before a batch goes out, one conditional write records its
 * recipients as in flight (UNKNOWN) together with the previous batch's
 * results; the attempt's outcome write records the last batch. So a crash
 * leaves exactly the recipients whose messages may have gone out UNKNOWN,
 * and no later attempt sends to them automatically (recipient-progress.ts).
 * A batch starts only while the lease leaves its sends their whole deadline;
 * the recipients not reached follow in the next attempt, at once.
 */
import type { Timestamp } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import { isDeepStrictEqual } from "node:util";
import type { Config } from "../config";
import { prepareSeparateMessages, type SeparateMessages, type SeparateRecipient } from "../mail/compose-message";
import { batchFits, downloadTimeLeft, SEPARATE_SEND } from "../shared/budget";
import { DeliveryError, SendEmailError } from "../shared/errors";
import { OUTCOME_UNKNOWN_NOTE } from "../providers/shared/unknown-outcome";
import * as logs from "../shared/logs";
import type { DeliveryInfo, MailRequest } from "../shared/types";
import type { Mark } from "./write-outcome";
import { boundedInfo } from "./bounded-info";
import { errorPatch, retryPatch, successPatch, type Patch } from "./patches";
import { markInFlight, mostAttempts, put, readProgress, recipientsToSend, settle, summarize, type RecipientProgress, type SendResult, type Summary } from "./recipient-progress";
import { retryDelayMs } from "./retry-policy";
import type { Runtime } from "./runtime";
import type { MailStore } from "./store";

/** What the attempt's other steps lend to each message. */
export interface SeparateSteps {
  /** Suppression, the unsubscribe link and tracking for one message (send-attempt.ts). @throws DeliveryError when its recipient is suppressed */
  prepare(message: SendMailOptions): Promise<{ message: SendMailOptions; mail: MailRequest }>;
  /** One send, cut to the lease. @throws SendEmailError */
  send(message: SendMailOptions, fields: MailRequest): Promise<DeliveryInfo>;
  /** A send refused for lack of time before any went out. */
  tooLate(): Error;
  /** For log lines and error texts. */
  sentWith: logs.SentWith;
  errorText(error: unknown): string;
}

export interface SeparateAttempt {
  runtime: Runtime;
  store: MailStore;
  path: string;
  data: Record<string, unknown>;
  request: MailRequest;
  /** The opened sender's config (its secrets read). */
  config: Config;
  attemptId: string;
  /** The claim's version: every checkpoint is conditioned on the latest one landed. */
  version: Timestamp;
  leaseEnds: number;
  /** A person's RETRY: recipients that failed are sent again too. */
  byPerson: boolean;
}

export interface SeparateResult {
  /** Every recipient's entry as the outcome write must record it. */
  progress: RecipientProgress;
  summary: Summary;
  /** The latest version this attempt wrote, for the outcome's conditional write. */
  version: Timestamp;
  /** The mail's recipients, in order. */
  keys: string[];
  /** The template variant the messages used (the first rendered), for `delivery.info`. */
  templateLocale?: string | null;
}

/**
 * @throws what composing throws before any message goes out (a missing template, a lookup that failed), `tooLate()`,
 * or a transient DeliveryError when the first checkpoint did not land: nothing went out, and the attempt fails as a whole
 */
export async function sendSeparately(attempt: SeparateAttempt, steps: SeparateSteps): Promise<SeparateResult> {
  const messages = await prepareSeparateMessages(attempt.request, attempt.config, attempt.store.db, attempt.runtime.templates, attempt.path);
  const byKey = new Map(messages.recipients.map((recipient) => [recipient.key, recipient]));
  const keys = [...byKey.keys()];
  let progress = readProgress(attempt.data.delivery);
  const queue = recipientsToSend(keys, progress, attempt.byPerson);
  let version = attempt.version;
  let templateLocale: string | null | undefined;

  for (let start = 0; start < queue.length; start += SEPARATE_SEND.batch) {
    if (!batchFits(attempt.leaseEnds, Date.now(), start === 0)) {
      if (start === 0) throw steps.tooLate();
      break;
    }
    const batch = queue.slice(start, start + SEPARATE_SEND.batch);
    const inFlight = markInFlight(progress, batch);
    // Nothing of the batch goes out unless its checkpoint landed: lost, another writer owns the mail now.
    const written = await checkpoint(attempt, inFlight, version);
    // Without a first batch this attempt made no progress: a failure, so that MAX_ATTEMPTS bounds the attempts.
    if (!written && start === 0) throw progressNotRecorded();
    if (!written) break;
    version = written;
    const results = await inPool(batch, SEPARATE_SEND.concurrency, (key) => sendOne(attempt, steps, messages, byKey.get(key) as SeparateRecipient));
    progress = { ...inFlight };
    batch.forEach((key, i) => {
      const { result, locale } = results[i];
      if (templateLocale === undefined && locale !== undefined) templateLocale = locale;
      put(progress, key, settle(inFlight[key], result, attempt.config.maxAttempts));
    });
  }
  return { progress, summary: summarize(keys, progress), version, keys, ...(templateLocale !== undefined && { templateLocale }) };
}

function progressNotRecorded(): DeliveryError {
  return new DeliveryError("unknown", "Nothing was sent: the recipients' progress could not be recorded before the first messages went out. It can be sent again.", { transient: true });
}

/** The recipients' map written over the version this attempt last wrote; null when that write did not land. */
async function checkpoint(attempt: SeparateAttempt, progress: RecipientProgress, version: Timestamp): Promise<Timestamp | null> {
  try {
    const written = await attempt.store.updateIf(attempt.path, { "delivery.recipients": progress }, version, checkpointMark(attempt.attemptId, progress));
    if (!written) logs.writeLost(attempt.path, "checkpoint");
    return written;
  } catch (error) {
    // Whether it applied is unknown, but its batch has not gone out: stop here, the outcome write says the rest.
    logs.unexpectedError(attempt.path, error);
    return null;
  }
}

/** The checkpoint's version: the mail still PROCESSING under this attempt, with exactly this map. */
function checkpointMark(attemptId: string, progress: RecipientProgress): Mark {
  return (data) => {
    const delivery = (data.delivery ?? {}) as Record<string, unknown>;
    return delivery.state === "PROCESSING" && delivery.attemptId === attemptId && isDeepStrictEqual({ ...(delivery.recipients as object) }, { ...progress });
  };
}

async function sendOne(attempt: SeparateAttempt, steps: SeparateSteps, messages: SeparateMessages, recipient: SeparateRecipient): Promise<{ result: SendResult; locale?: string | null }> {
  let locale: string | null | undefined;
  try {
    const composed = messages.compose(recipient);
    locale = composed.info.templateLocale;
    const prepared = await steps.prepare(composed.message);
    const message = await attempt.runtime.download(prepared.message, { deadlineMs: downloadTimeLeft(attempt.leaseEnds, Date.now()), mailPath: attempt.path, config: attempt.config });
    const info = await steps.send(message, prepared.mail);
    logs.delivered(attempt.path, info, steps.sentWith);
    return { result: { accepted: true, messageId: info.messageId }, locale };
  } catch (error) {
    const failure = error instanceof SendEmailError ? error : undefined;
    const text = steps.errorText(error);
    const result: SendResult = { accepted: false, error: text, transient: failure?.transient ?? false, unknown: failure?.code === "outcome-unknown" };
    logs.deliveryFailed(attempt.path, { code: failure?.code ?? "unknown", state: result.transient ? "PENDING" : "ERROR", message: text }, steps.sentWith);
    return { result, locale };
  }
}

/** The attempt's outcome from its recipients' entries, in the shape send-attempt.ts records; every version it may write carries the map. */
export function separateOutcome(result: SeparateResult, settings: Pick<Config, "retryBackoffSeconds">, nowMs: number) {
  const { summary, progress, keys } = result;
  const extra: Patch = { "delivery.recipients": progress };
  const common = { extra, version: result.version, unknown: summary.unknown.length > 0 };
  if (summary.state === "SUCCESS") {
    const info = boundedInfo({
      messageId: null,
      accepted: summary.accepted,
      rejected: summary.rejected,
      pending: [],
      response: null,
      ...(result.templateLocale !== undefined && { templateLocale: result.templateLocale }),
    });
    return { ...common, state: "SUCCESS" as const, info, error: null, patch: successPatch(info) };
  }
  const firstError = [...summary.retrying, ...summary.rejected, ...summary.unknown].map((key) => progress[key].error).find((error) => error !== undefined);
  const because = firstError === undefined ? "" : ` First error: ${firstError}`;
  if (summary.state === "PENDING") {
    // Said without promising the next attempt: lease recovery may record this result as an ERROR (send-attempt.ts outcomeWrites).
    const parts = [];
    if (summary.notReached.length > 0) parts.push(`${summary.notReached.length} of ${keys.length} recipients were not reached within this attempt's lease.`);
    if (summary.retrying.length > 0) parts.push(`${summary.retrying.length} of ${keys.length} recipients failed temporarily.`);
    const dueAt = summary.notReached.length > 0 ? nowMs : nowMs + retryDelayMs(mostAttempts(progress, summary.retrying), settings.retryBackoffSeconds);
    const error = `Not finished: ${parts.join(" ")}${because}`;
    return { ...common, state: "PENDING" as const, info: null, error, patch: retryPatch(error, dueAt) };
  }
  const unknown = summary.unknown.length > 0 ? ` For ${summary.unknown.length}, the provider ${OUTCOME_UNKNOWN_NOTE} the message: they are not sent again automatically.` : "";
  const error = `No recipient's message was accepted: ${summary.rejected.length} of ${keys.length} failed (delivery.recipients has each one's error).${unknown}${because}`;
  return { ...common, state: "ERROR" as const, info: null, error, patch: errorPatch(error, true) };
}

/** `work` over `items`, at most `limit` at a time; results in the items' order. */
async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
