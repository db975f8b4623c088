/**
 * Queries over the mail collection for the scheduled maintenance. A plain
 * path (`mail`, `tenants/acme/mail`) is one collection; a path with wildcard
 * segments (`users/{uid}/mail`) is every matching collection, read with a
 * collection-group query, which also returns same-named collections outside
 * the pattern (`teams/t1/mail/x`): `contains` tells them apart.
 */
import type { Firestore, Query } from "firebase-admin/firestore";
import { documentWildcards, parentOf, wildcardNames } from "../shared/path-pattern";

export interface MailCollection {
  /** MAIL_COLLECTION as configured, e.g. `users/{uid}/mail`. */
  path: string;
  /** The path's last segment, which the queries read. */
  collectionId: string;
  /** Whether `query` is a collection-group query (its single-field indexes need collection-group scope). */
  group: boolean;
  query: Query;
  contains(documentPath: string): boolean;
}

export function mailCollection(db: Firestore, path: string): MailCollection {
  const segments = path.split("/");
  const collectionId = segments[segments.length - 1];
  if (wildcardNames(path).length === 0) {
    return { path, collectionId, group: false, query: db.collection(path), contains: (documentPath) => parentOf(documentPath) === path };
  }
  const contains = (documentPath: string) => documentWildcards(path, documentPath) !== undefined;
  return { path, collectionId, group: true, query: db.collectionGroup(collectionId), contains };
}
