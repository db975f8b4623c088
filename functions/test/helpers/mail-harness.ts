/**
 * The shared set-up of a test file that sends mail through processQueue:
 * the Firestore client of emulator-fixture.ts (emptied before each test);
 * a trigger driver; and an SMTP sink per test, started with the extension
 * configured to send to it, closed after it. Call it inside a
 * `describeWithEmulator` block.
 */
import type { Firestore } from "firebase-admin/firestore";
import { processQueue } from "./extension-env";
import { emulatorFirestore } from "./emulator-fixture";
import { configureExtension } from "./extension-env";
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from "./smtp-sink";
import { Trigger } from "./trigger";

export const DEFAULT_FROM = "Example App <noreply@example.com>";

export interface MailHarness {
  readonly db: Firestore;
  readonly trigger: Trigger;
  /** The sink of the current test (after `useSink`). */
  readonly sink: SmtpSink;
  /** Starts an SMTP sink and points the extension at it, with `params` on top of the defaults. */
  useSink(options?: SmtpSinkOptions, params?: Record<string, string>): Promise<SmtpSink>;
  /** A fresh document path in the mail collection. */
  nextPath(): string;
}

export function mailHarness(projectId: string): MailHarness {
  const db = emulatorFirestore(projectId);
  const trigger = new Trigger(db, processQueue);
  let sink: SmtpSink | undefined;
  let counter = 0;

  afterEach(async () => {
    await sink?.close();
    sink = undefined;
  });

  return {
    db,
    trigger,
    get sink() {
      if (sink === undefined) throw new Error("sink is only available inside a test, after useSink");
      return sink;
    },
    async useSink(options = {}, params = {}) {
      sink = await startSmtpSink(options);
      configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM, ...params });
      return sink;
    },
    nextPath: () => `mail/m${++counter}`,
  };
}
