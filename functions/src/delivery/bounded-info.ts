/**
 * `delivery.info` kept small enough that the outcome write fits in the mail
 * document: Firestore refuses a document over 1 MiB, a mail may already be
 * close to that (a large body, 1,000 recipients), and an unbounded info
 * repeats every address. The address lists share one budget, one address of
 * each in turn, so a short list (a few rejections) is kept whole beside a
 * long one. A shortened info says so (`truncated`, `counts` with the full
 * lengths); if even that does not fit, the outcome records `minimalInfo`.
 */
import type { DeliveryCounts, DeliveryInfo } from "../shared/types";

export const INFO_LIMITS = {
  /** All address lists together (accepted, rejected, pending, suppressed): about 500 typical addresses. */
  addresses: 16 * 1024,
  response: 2 * 1024,
  /** Each of `messageId`, `sendgridQueueId`. */
  id: 1024,
  /** `response` in a minimal info. */
  minimalResponse: 256,
} as const;

const ELLIPSIS = "…";

/** `info` within INFO_LIMITS: itself when it already is, else a shortened copy that says so. */
export function boundedInfo(info: DeliveryInfo): DeliveryInfo {
  const lists = [info.accepted, info.rejected, info.pending, info.suppressed ?? []];
  const kept = shareBytes(lists, INFO_LIMITS.addresses);
  const messageId = cut(info.messageId, INFO_LIMITS.id);
  const response = cut(info.response, INFO_LIMITS.response);
  const queueId = info.sendgridQueueId ?? null;
  const sendgridQueueId = cut(queueId, INFO_LIMITS.id);
  const whole = kept.every((list, i) => list.length === lists[i].length);
  if (whole && messageId === info.messageId && response === info.response && sendgridQueueId === queueId) return info;
  const out: DeliveryInfo = { ...info, messageId, response, accepted: kept[0], rejected: kept[1], pending: kept[2] };
  if (info.suppressed) out.suppressed = kept[3];
  if (info.sendgridQueueId !== undefined) out.sendgridQueueId = sendgridQueueId;
  return { ...out, truncated: true, counts: countsOf(info) };
}

/** What is left of `info` when even the bounded one does not fit: ids, the reply's start and the counts. */
export function minimalInfo(info: DeliveryInfo): DeliveryInfo {
  const out: DeliveryInfo = { messageId: cut(info.messageId, INFO_LIMITS.id), accepted: [], rejected: [], pending: [], response: cut(info.response, INFO_LIMITS.minimalResponse) };
  if (info.sendgridQueueId !== undefined) out.sendgridQueueId = cut(info.sendgridQueueId, INFO_LIMITS.id);
  if (info.suppressed) out.suppressed = [];
  if (info.templateLocale !== undefined) out.templateLocale = info.templateLocale; // At most 64 characters (mail/template-limits.ts).
  if (info.archive !== undefined) out.archive = info.archive; // A hash and a path of at most about 1.5 KB: the archive was written, so it is kept.
  return { ...out, truncated: true, counts: info.counts ?? countsOf(info) };
}

/** The bytes Firestore counts for a string value. */
export function firestoreBytes(text: string): number {
  return Buffer.byteLength(text, "utf8") + 1;
}

function countsOf(info: DeliveryInfo): DeliveryCounts {
  const counts: DeliveryCounts = { accepted: info.accepted.length, rejected: info.rejected.length, pending: info.pending.length };
  if (info.suppressed) counts.suppressed = info.suppressed.length;
  return counts;
}

/** The first entries of each list within `budget` bytes in all, one from each list in turn; a list stops at its first entry that does not fit. */
function shareBytes(lists: string[][], budget: number): string[][] {
  const kept = lists.map((): string[] => []);
  let left = budget;
  const open = new Set(lists.map((_, i) => i).filter((i) => lists[i].length > 0));
  for (let n = 0; open.size > 0; n++) {
    for (const i of [...open]) {
      const entry = lists[i][n];
      const size = entry === undefined ? Infinity : firestoreBytes(entry);
      if (size > left) {
        open.delete(i);
        continue;
      }
      kept[i].push(entry);
      left -= size;
    }
  }
  return kept;
}

/** `text` within `maxBytes` (as Firestore counts it), cut at a character boundary and ended with `…`. */
function cut(text: string | null, maxBytes: number): string | null {
  if (text === null || firestoreBytes(text) <= maxBytes) return text;
  const room = maxBytes - 1 - Buffer.byteLength(ELLIPSIS, "utf8");
  // Decoding a prefix cut inside a character leaves a replacement character, dropped here.
  return Buffer.from(text, "utf8").subarray(0, room).toString("utf8").replace(/\uFFFD+$/, "") + ELLIPSIS;
}
