/**
 * Ids Firestore refuses for documents and collections (`.`, `..`,
 * `__name__`-style ids). No template, user or collection can have one, so a
 * name of this form is never looked up by id, and never accepted as a path
 * segment.
 */
const RESERVED_ID = /^(\.|\.\.|__.*__)$/s;

export function isReservedId(id: string): boolean {
  return RESERVED_ID.test(id);
}
