/**
 * Templates and users that cannot be read are not the document's fault: the
 * failure has its own code and is transient, so automatic retries
 * (MAX_ATTEMPTS) take it up, unless Firestore refused the read outright.
 */
import type { Firestore } from "firebase-admin/firestore";
import { DeliveryError } from "../../../src/shared/errors";
import { grpcStatus } from "../../../src/shared/firestore-status";
import { resolveRecipients, usersUnavailable } from "../../../src/mail/recipients";
import { loadTemplate, templatesUnavailable } from "../../../src/mail/templates";
import { caught } from "../../helpers/caught";

test.each([
  ["templates", templatesUnavailable],
  ["users", usersUnavailable],
])("%s that cannot be read in time: lookup-failed, transient", (_, unavailable) => {
  const error = unavailable("things", "Firestore did not answer within 10 s.");
  expect(error).toBeInstanceOf(DeliveryError);
  expect([error.code, error.transient]).toEqual(["lookup-failed", true]);
  expect(error.message).toContain("'things'");
});

/** gRPC's code for a refused call (the shared table lists only the codes the extension acts on). */
const PERMISSION_DENIED = 7;

/** A Firestore whose every read is answered with the gRPC status `code`, as the client library rejects. */
function firestoreAnswering(code: number): Firestore {
  const read = () => Promise.reject(Object.assign(new Error(`${code} refused by the test`), { code }));
  const query = { get: read, where: () => query, limit: () => query };
  return { collection: () => ({ ...query, doc: () => ({ get: read }) }), getAll: read } as unknown as Firestore;
}

const lookups: Array<[string, (db: Firestore) => Promise<unknown>]> = [
  ["templates", (db) => loadTemplate(db, "templates", "welcome")],
  ["users", (db) => resolveRecipients(db, "users", { to: ["uid-1"], cc: [], bcc: [] })],
];

test.each(lookups)("%s whose read Firestore refuses (PERMISSION_DENIED): lookup-failed, final", async (_, lookup) => {
  const error = await caught(DeliveryError, lookup(firestoreAnswering(PERMISSION_DENIED)));
  expect([error.code, error.transient]).toEqual(["lookup-failed", false]);
});

test.each(lookups)("%s read while Firestore is unavailable (UNAVAILABLE): lookup-failed, transient", async (_, lookup) => {
  const error = await caught(DeliveryError, lookup(firestoreAnswering(grpcStatus().UNAVAILABLE)));
  expect([error.code, error.transient]).toEqual(["lookup-failed", true]);
});
