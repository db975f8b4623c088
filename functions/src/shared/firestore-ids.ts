/** Ids Firestore refuses (`.`, `..`, `__x__`): never looked up by id, never accepted as a path segment. */
export const isReservedId = (id: string): boolean => /^(\.|\.\.|__.*__)$/s.test(id);
