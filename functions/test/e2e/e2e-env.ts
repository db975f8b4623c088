/**
 * What the end-to-end tests share: the emulators that `firebase
 * emulators:exec` started (scripts/e2e.js), the mail viewer's REST API, and
 * waits on Firestore snapshots. These tests run only under that script; run
 * any other way they fail at once, saying so, instead of passing or hanging.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type DocumentReference, type DocumentSnapshot, type Firestore, type Query } from "firebase-admin/firestore";

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the end-to-end tier with \`npm run test:e2e\` (scripts/e2e.js).`);
  return value;
}

export const maildevUrl = (): string => required("E2E_MAILDEV_URL");
export const defaultFrom = (): string => required("E2E_DEFAULT_FROM");

export function e2eFirestore(): Firestore {
  required("FIRESTORE_EMULATOR_HOST");
  const projectId = required("GCLOUD_PROJECT");
  return getFirestore(getApps()[0] ?? initializeApp({ projectId }));
}

/** Resolves with the first snapshot of `ref` that satisfies `done`; rejects after `timeoutMs` with the last one seen. */
export function waitForDocument(
  ref: DocumentReference,
  done: (snap: DocumentSnapshot) => boolean,
  timeoutMs = 60_000,
): Promise<DocumentSnapshot> {
  return new Promise((resolve, reject) => {
    let last: unknown;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${ref.path}: condition not met within ${timeoutMs} ms; last delivery: ${JSON.stringify(last)}`));
    }, timeoutMs);
    const unsubscribe = ref.onSnapshot(
      (snap) => {
        last = snap.get("delivery");
        if (!done(snap)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(snap);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Waits until `delivery.state` is final (SUCCESS or ERROR) with at least `attempts` attempts. */
export function waitForFinalState(ref: DocumentReference, attempts = 1, timeoutMs = 60_000): Promise<DocumentSnapshot> {
  return waitForDocument(
    ref,
    (snap) => ["SUCCESS", "ERROR"].includes(snap.get("delivery.state")) && (snap.get("delivery.attempts") ?? 0) >= attempts,
    timeoutMs,
  );
}

/** Resolves with the query's documents once `done` holds for them; rejects after `timeoutMs`. */
export function waitForQuery<T>(
  query: Query,
  done: (docs: T[]) => boolean,
  timeoutMs = 60_000,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    let last: T[] = [];
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`query condition not met within ${timeoutMs} ms; last result: ${JSON.stringify(last)}`));
    }, timeoutMs);
    const unsubscribe = query.onSnapshot(
      (snap) => {
        last = snap.docs.map((doc) => doc.data() as T);
        if (!done(last)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(last);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** One message as the maildev REST API lists it (the fields these tests read). */
export interface ViewerMail {
  id: string;
  subject: string;
  text?: string;
  html?: string;
  from: Array<{ address: string; name: string }>;
  to: Array<{ address: string; name: string }>;
  headers: Record<string, string>;
  envelope: { from: { address: string }; to: Array<{ address: string }> };
}

/**
 * The message with this Message-ID in the mail viewer. maildev stores a
 * message before it answers 250, so it is there once the document says
 * SUCCESS; the short bounded retry only covers its file being indexed.
 */
export async function viewerMessage(messageId: string, timeoutMs = 5000): Promise<ViewerMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${maildevUrl()}/api/email`, { signal: AbortSignal.timeout(5000) });
    const mails = (await response.json()) as ViewerMail[];
    const found = mails.find((mail) => mail.headers["message-id"] === messageId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`No message ${messageId} in the mail viewer; it holds ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
