/**
 * What resolveRecipients reads from user documents: `email` always, the USER_TEMPLATE_FIELDS only when a
 * template is to receive one user's fields, and never more than those fields of that user.
 */
import type { Firestore } from "firebase-admin/firestore";
import { resolveRecipients } from "../../../src/mail/recipients";

/** Users as stored; the fake answers getAll as Firestore does with a field mask: only the masked fields exist. */
function usersDb(users: Record<string, Record<string, unknown>>) {
  const masks: string[][] = [];
  const db = {
    collection: () => ({ doc: (id: string) => ({ id }) }),
    getAll: async (...args: unknown[]) => {
      const { fieldMask } = args.pop() as { fieldMask: string[] };
      masks.push(fieldMask);
      return (args as Array<{ id: string }>).map(({ id }) => {
        const user = users[id];
        const masked = user && Object.fromEntries(Object.entries(user).filter(([key]) => fieldMask.includes(key)));
        return { id, exists: user !== undefined, get: (field: string) => masked?.[field] };
      });
    },
  } as unknown as Firestore;
  return { db, masks };
}

const USERS = { ann: { email: "ann@example.com", firstName: "Ann", phone: "+41 00", locale: "de" }, bob: { email: "bob@example.com", firstName: "Bob" } };
const uids = (to: string[]) => ({ to, cc: [], bcc: [] });

test("without a profile request, only `email` is read, as before", async () => {
  const { db, masks } = usersDb(USERS);
  const found = await resolveRecipients(db, "users", uids(["ann"]));
  expect(masks).toEqual([["email"]]);
  expect(found).toEqual({ to: ["ann@example.com"], cc: [], bcc: [], unresolved: [] });
});

test("with one, the allowed fields are read beside `email`, and only they are returned", async () => {
  const { db, masks } = usersDb(USERS);
  const found = await resolveRecipients(db, "users", uids(["ann"]), { uid: "ann", fields: ["firstName", "locale", "email", "missing"] });
  expect(masks).toEqual([["email", "firstName", "locale", "missing"]]);
  expect(found.profile).toEqual({ firstName: "Ann", locale: "de", email: "ann@example.com" });
  expect(found.profile).not.toHaveProperty("phone");
});

test("the profile is that user's only, and absent when the user has no document", async () => {
  const { db } = usersDb(USERS);
  expect((await resolveRecipients(db, "users", { to: ["bob"], cc: ["ann"], bcc: [] }, { uid: "bob", fields: ["firstName"] })).profile).toEqual({ firstName: "Bob" });
  expect((await resolveRecipients(db, "users", uids(["ghost"]), { uid: "ghost", fields: ["firstName"] })).profile).toBeUndefined();
});
