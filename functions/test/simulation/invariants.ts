/**
 * What must hold in every schedule, checked as the world runs and at its end.
 * These are the promises of docs/mail-documents.md, stated against what the
 * provider really received (the scripted provider's ledger), not against what
 * the documents say:
 * - one send in flight: never two sends of one mail (of one recipient's
 *   message, with `separateMessages`) at the same time;
 * - never twice: after the provider accepted a mail, another send of it needs a
 *   person's RETRY or PENDING written after that send ended, over a recorded
 *   outcome (the document showed SUCCESS or ERROR when the person wrote it);
 *   with `separateMessages`, never another send to a recipient whose message
 *   the provider accepted, whatever anyone writes (its entry in
 *   `delivery.recipients` is SUCCESS or UNKNOWN, which no attempt sends to);
 * - finished: once faults stop, every mail that was not deleted ends in
 *   SUCCESS or ERROR within the bound;
 * - truthful: SUCCESS only if the provider accepted the mail; an ERROR that
 *   does not say the outcome is unknown only if no send since the latest
 *   person's request was accepted;
 * - events: a lifecycle event is never published twice for one transition,
 *   and (in a schedule without faults) is published for every transition.
 */
import type { CommitRecord } from "./model-firestore";
import type { SendRecord } from "./scripted-provider";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { OUTCOME_UNKNOWN_NOTE } from "../../src/providers/shared/unknown-outcome";

export interface Violation {
  invariant: string;
  detail: string;
}

interface WorldView {
  clock: number;
  mailPaths: string[];
  faulted: boolean;
  provider: { sends: SendRecord[] };
  peekData(path: string): Record<string, unknown> | undefined;
}

interface MailLedger {
  /** When a person last wrote RETRY or PENDING while an outcome (SUCCESS or ERROR) was on the document. */
  lastRequestOverOutcome?: number;
  /** How many sends (of any mail) had started by then. */
  sendsBeforeRequest: number;
  deleted: boolean;
  /** Transitions into each state, by the documents' committed history. */
  transitions: Map<string, number>;
  /** Lifecycle events published, by type. */
  published: Map<string, number>;
}

/** The lifecycle events that each mark exactly one transition into a state. */
const EVENT_STATE: Record<string, string> = { onSuccess: "SUCCESS", onProcessing: "PROCESSING" };

export class Invariants {
  failed?: Violation;
  private readonly mails = new Map<string, MailLedger>();

  constructor(private readonly world: WorldView) {}

  private ledger(path: string): MailLedger {
    let ledger = this.mails.get(path);
    if (!ledger) {
      ledger = { sendsBeforeRequest: 0, deleted: false, transitions: new Map(), published: new Map() };
      this.mails.set(path, ledger);
    }
    return ledger;
  }

  violation(invariant: string, detail: string): Violation {
    this.failed ??= { invariant, detail };
    return this.failed;
  }

  sendStarted(record: SendRecord): void {
    const sends = this.world.provider.sends.filter((s) => s.mailPath === record.mailPath && s.recipient === record.recipient && s !== record);
    const inFlight = sends.find((s) => s.endedAt === undefined);
    if (inFlight) {
      this.violation("one send in flight", `${record.mailPath}: send #${record.id} to ${record.recipient} started while send #${inFlight.id} was still in flight`);
      return;
    }
    const lastAccepted = [...sends].reverse().find((s) => s.accepted);
    if (lastAccepted && this.separate(record.mailPath)) {
      this.violation("never twice", `${record.mailPath}: send #${record.id} to ${record.recipient} started though the provider already accepted send #${lastAccepted.id} to that recipient`);
      return;
    }
    if (lastAccepted) {
      // The accepted send's outcome was on the document, then a person asked again.
      const asked = this.ledger(record.mailPath).lastRequestOverOutcome;
      if (asked === undefined || asked < (lastAccepted.endedAt ?? Infinity)) {
        this.violation("never twice", `${record.mailPath}: send #${record.id} started though the provider already accepted send #${lastAccepted.id}, and no person asked again after an outcome was recorded`);
      }
    }
  }

  /**
   * With `separateMessages` the truth is per recipient: SUCCESS only if the
   * provider accepted that recipient's message; ERROR, PENDING or no entry
   * only if it never did; UNKNOWN either way.
   */
  private separateUntruth(data: Record<string, unknown>, sends: SendRecord[]): string | undefined {
    const entries = ((data.delivery as { recipients?: Record<string, { state?: unknown }> } | undefined)?.recipients ?? {}) as Record<string, { state?: unknown }>;
    const recipients = new Set([...sends.map((s) => s.recipient), ...Object.keys(entries)]);
    for (const recipient of recipients) {
      const state = entries[recipient]?.state;
      const accepted = sends.find((s) => s.recipient === recipient && s.accepted);
      if (state === "SUCCESS" && !sends.some((s) => s.recipient === recipient && s.accepted)) return `${recipient} is SUCCESS but the provider never accepted its message`;
      if (state !== "SUCCESS" && state !== "UNKNOWN" && accepted) return `${recipient} is ${String(state ?? "without an entry")} but the provider accepted send #${accepted.id}`;
    }
    return undefined;
  }

  /** Whether the mail is sent as one message per recipient (its documents never drop the field). */
  private separate(path: string): boolean {
    return this.world.peekData(path)?.separateMessages === true;
  }

  /** Person requests written while an attempt held the mail (for classifying what a schedule found). */
  requestsDuringAttempt = 0;

  requested(path: string, stateSeen: string): void {
    const ledger = this.ledger(path);
    if (stateSeen === "PROCESSING") this.requestsDuringAttempt++;
    // A request made over a recorded outcome authorises one more send; one
    // made during an attempt does not (the attempt's outcome answers it).
    if (stateSeen === "SUCCESS" || stateSeen === "ERROR") {
      ledger.lastRequestOverOutcome = this.world.clock;
      ledger.sendsBeforeRequest = this.world.provider.sends.length;
    }
  }

  deleted(path: string): void {
    this.ledger(path).deleted = true;
  }

  committed(record: CommitRecord): void {
    const before = stateOf(record.before?.data());
    const after = stateOf(record.after?.data());
    if (after !== undefined && after !== before) {
      const transitions = this.ledger(record.path).transitions;
      transitions.set(after, (transitions.get(after) ?? 0) + 1);
    }
  }

  published(type: string, path: string, _state: string | null): void {
    const ledger = this.ledger(path);
    const count = (ledger.published.get(type) ?? 0) + 1;
    ledger.published.set(type, count);
    const state = EVENT_STATE[type];
    if (state && count > (ledger.transitions.get(state) ?? 0)) {
      this.violation("events once", `${path}: ${type} published ${count} times for ${ledger.transitions.get(state) ?? 0} transitions to ${state}`);
    }
  }

  atEnd(): Violation | undefined {
    for (const path of this.world.mailPaths) {
      const ledger = this.ledger(path);
      const data = this.world.peekData(path);
      if (!data) continue;
      const delivery = (data.delivery ?? {}) as { state?: unknown; error?: unknown };
      const sends = this.world.provider.sends.filter((s) => s.mailPath === path);
      if (delivery.state !== "SUCCESS" && delivery.state !== "ERROR") {
        return this.violation("finished", `${path} is still ${JSON.stringify(delivery.state ?? null)} after the calm phase`);
      }
      if (delivery.state === "SUCCESS" && !sends.some((s) => s.accepted)) {
        return this.violation("truthful", `${path} is SUCCESS but the provider never accepted it`);
      }
      if (this.separate(path)) {
        const wrong = this.separateUntruth(data, sends);
        if (wrong) return this.violation("truthful", `${path}: ${wrong}`);
        continue;
      }
      // An ERROR answers the latest request: no send made for it may have been accepted, unless the error says it may have.
      const acceptedSince = sends.find((s) => s.accepted && s.id > ledger.sendsBeforeRequest);
      const uncertain = typeof delivery.error === "string" && (delivery.error === LEASE_EXPIRED_ERROR || delivery.error.includes(OUTCOME_UNKNOWN_NOTE));
      if (delivery.state === "ERROR" && acceptedSince && !uncertain) {
        return this.violation("truthful", `${path} is ERROR (${String(delivery.error)}) but the provider accepted send #${acceptedSince.id}`);
      }
      if (!this.world.faulted) {
        for (const [type, state] of Object.entries(EVENT_STATE)) {
          const published = ledger.published.get(type) ?? 0;
          const transitions = ledger.transitions.get(state) ?? 0;
          if (published !== transitions) {
            return this.violation("events once", `${path}: ${type} published ${published} times for ${transitions} transitions to ${state}, with no fault`);
          }
        }
      }
    }
    return undefined;
  }
}

function stateOf(data: Record<string, unknown> | undefined): string | undefined {
  const state = (data?.delivery as { state?: unknown } | undefined)?.state;
  return typeof state === "string" ? state : undefined;
}
