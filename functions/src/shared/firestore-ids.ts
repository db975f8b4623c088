/** Ids Firestore refuses (`.`, `..`, `__x__`): never looked up by id, never accepted as a path segment. */
const RESERVED_ID = /^(\.|\.\.|__.*__)$/s;

export function isReservedId(id: string): boolean {
  return RESERVED_ID.test(id);
}
