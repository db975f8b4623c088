/**
 * Drives mail through the real processQueue and maintainQueue the way Cloud
 * Functions would at volume: many documents created at once, each creation
 * event delivered (some twice, as at-least-once delivery allows), every
 * write the function makes delivered as a further event, and the scheduled
 * sweep followed by the events of the documents it wrote.
 *
 * Events are read from Firestore by `db`, the test's own client: in the
 * fault tier it talks to the emulator directly while the function's client
 * goes through the fault proxy, because the events Cloud Functions delivers
 * do not travel over the function's connection.
 */
import type { DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import { runMaintenance, type MaintenanceReport } from "../helpers/extension-env";
import { processQueue } from "../helpers/extension-env";
import { runAll } from "../helpers/run-all";
import { Trigger } from "../helpers/trigger";

export const TERMINAL = new Set(["SUCCESS", "ERROR"]);

/** What went wrong around the function, as the platform would see it. */
export interface TrafficProblems {
  /** Invocations that threw (Cloud Functions would log them and drop the event). */
  failedInvocations: number;
  /** Sweep runs that threw (the next scheduled run starts over). */
  failedSweeps: number;
}

export class MailTraffic {
  readonly trigger: Trigger;
  readonly problems: TrafficProblems = { failedInvocations: 0, failedSweeps: 0 };

  constructor(
    private readonly db: Firestore,
    private readonly collection = "mail",
  ) {
    this.trigger = new Trigger(db, processQueue);
  }

  /**
   * Creates `count` documents, `concurrency` at a time, and delivers their
   * events until each document stops changing. `duplicate(i)` says whether
   * the i-th creation event is delivered twice, concurrently.
   */
  async createAll(
    count: number,
    document: (i: number) => { id: string; data: Record<string, unknown> },
    options: { concurrency: number; duplicate?: (i: number) => boolean },
  ): Promise<void> {
    await runAll(
      Array.from({ length: count }, (_, i) => async () => {
        const { id, data } = document(i);
        const ref = this.db.collection(this.collection).doc(id);
        const before = await ref.get();
        await ref.create(data);
        const copies = options.duplicate?.(i) ? 2 : 1;
        await Promise.all(Array.from({ length: copies }, () => this.settle(ref.path, before)));
      }),
      options.concurrency,
    );
  }

  /**
   * One scheduled sweep at `nowMs` (a future time stands in for waiting out
   * leases and backoffs), then the events of every document it wrote.
   */
  async sweep(nowMs: number, concurrency = 25): Promise<MaintenanceReport | undefined> {
    const before = await this.snapshots();
    let report: MaintenanceReport | undefined;
    try {
      report = await runMaintenance(nowMs);
    } catch {
      this.problems.failedSweeps++;
    }
    const after = await this.snapshots();
    const changed = [...after.values()].filter((doc) => {
      const old = before.get(doc.id);
      return !old?.updateTime || !doc.updateTime || !old.updateTime.isEqual(doc.updateTime);
    });
    await runAll(
      changed.map((doc) => () => this.settle(doc.ref.path, before.get(doc.id) ?? doc)),
      concurrency,
    );
    return report;
  }

  /** Every document of the collection, by id. */
  async snapshots(): Promise<Map<string, DocumentSnapshot>> {
    const all = await this.db.collection(this.collection).get();
    return new Map(all.docs.map((doc) => [doc.id, doc]));
  }

  /** Documents whose delivery has not ended (no state, PENDING or PROCESSING). */
  async unfinished(): Promise<DocumentSnapshot[]> {
    return [...(await this.snapshots()).values()].filter((doc) => !TERMINAL.has(doc.get("delivery.state")));
  }

  private async settle(path: string, before: DocumentSnapshot): Promise<void> {
    try {
      await this.trigger.settle(path, before);
    } catch {
      this.problems.failedInvocations++;
    }
  }
}

/** Messages the SMTP server accepted, per mail id, from recipients of the form `<id>@example.com`. */
export function sendsById(recipients: string[][]): Map<string, number> {
  const sends = new Map<string, number>();
  for (const rcptTo of recipients) {
    for (const address of rcptTo) {
      const id = address.split("@")[0];
      sends.set(id, (sends.get(id) ?? 0) + 1);
    }
  }
  return sends;
}
