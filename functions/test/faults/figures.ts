/**
 * The figures a fault or throttling run is judged by, computed from what a
 * user can check: each mail document's final `delivery` and the messages
 * the SMTP server accepted for it. Printed to the test output (and appended
 * to FAULT_REPORT_FILE when set) so that runs can be compared.
 */
import { appendFileSync } from "node:fs";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { TERMINAL } from "./mail-traffic";

export interface DeliveryFigures {
  mails: number;
  success: number;
  error: number;
  /** Not SUCCESS or ERROR (no delivery at all, PENDING or PROCESSING). */
  neverTerminal: number;
  /** Mails the server accepted more than once. */
  sentTwice: number;
  /** ERROR although the server accepted the mail. */
  errorButAccepted: number;
  /** ERROR, never sent, and the server never refused it: an error that was not a send failure. */
  errorNeverSent: number;
  /** SUCCESS although the server never accepted the mail. */
  successNeverSent: number;
  /** Messages the server accepted in all. */
  accepted: number;
}

/**
 * `refusedIds`: mails the server refused at least once (a real send
 * failure); an ERROR without a send is only expected for those.
 */
export function deliveryFigures(
  docs: Iterable<DocumentSnapshot>,
  sends: Map<string, number>,
  refusedIds: Set<string> = new Set(),
): DeliveryFigures {
  const f: DeliveryFigures = {
    mails: 0,
    success: 0,
    error: 0,
    neverTerminal: 0,
    sentTwice: 0,
    errorButAccepted: 0,
    errorNeverSent: 0,
    successNeverSent: 0,
    accepted: 0,
  };
  for (const doc of docs) {
    f.mails++;
    const state = doc.get("delivery.state");
    const sent = sends.get(doc.id) ?? 0;
    f.accepted += sent;
    if (sent > 1) f.sentTwice++;
    if (!TERMINAL.has(state)) f.neverTerminal++;
    if (state === "SUCCESS") {
      f.success++;
      if (sent === 0) f.successNeverSent++;
    }
    if (state === "ERROR") {
      f.error++;
      if (sent > 0) f.errorButAccepted++;
      else if (!refusedIds.has(doc.id)) f.errorNeverSent++;
    }
  }
  return f;
}

/** Counts of `delivery.error` texts among ERROR documents, most frequent first. */
export function errorTexts(docs: Iterable<DocumentSnapshot>): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const doc of docs) {
    if (doc.get("delivery.state") !== "ERROR") continue;
    const text = String(doc.get("delivery.error"));
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** Writes a titled block of lines where a person running the tier sees it. */
export function report(title: string, lines: string[]): void {
  const text = `\n=== ${title}\n${lines.map((line) => `    ${line}`).join("\n")}\n`;
  process.stdout.write(text);
  const file = process.env.FAULT_REPORT_FILE;
  if (file) appendFileSync(file, text);
}

export function figureLines(f: DeliveryFigures): string[] {
  return [
    `mails ${f.mails}: SUCCESS ${f.success}, ERROR ${f.error}, accepted by the server ${f.accepted} time(s)`,
    `never reaching a terminal state: ${f.neverTerminal}`,
    `sent twice: ${f.sentTwice}`,
    `ERROR although the server accepted them: ${f.errorButAccepted}`,
    `ERROR, never sent, without a send failure: ${f.errorNeverSent}`,
    `SUCCESS, never sent: ${f.successNeverSent}`,
  ];
}
