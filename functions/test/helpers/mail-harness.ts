/**
 * The shared set-up of a test file that sends mail through processQueue:
 * a Firestore client on the shared emulator under the file's own project id,
 * emptied before each test; a trigger driver; and an SMTP sink per test,
 * started with the extension configured to send to it, closed after it.
 * Call it inside a `describeWithEmulator` block.
 */
import type { Firestore } from "firebase-admin/firestore";
import { processQueue } from "../../src/index";
import { emulatorHost } from "./emulator-env";
import { configureExtension, testFirestore } from "./extension-env";
import { clearFirestore } from "./firestore-emulator";
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
  let db: Firestore | undefined;
  let trigger: Trigger | undefined;
  let sink: SmtpSink | undefined;
  let counter = 0;

  beforeAll(() => {
    db = testFirestore(projectId);
    trigger = new Trigger(db, processQueue);
  });
  beforeEach(async () => {
    await clearFirestore(emulatorHost!, projectId);
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only available inside a test`);
    return value;
  };
  return {
    get db() {
      return need(db, "db");
    },
    get trigger() {
      return need(trigger, "trigger");
    },
    get sink() {
      return need(sink, "sink (call useSink first)");
    },
    async useSink(options = {}, params = {}) {
      sink = await startSmtpSink(options);
      configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM, ...params });
      return sink;
    },
    nextPath: () => `mail/m${++counter}`,
  };
}
