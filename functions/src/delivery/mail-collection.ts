/**
 * Queries over the mail collection for the scheduled maintenance. A plain
 * path (`mail`, `tenants/acme/mail`) is one collection; a path with wildcard
 * segments (`users/{uid}/mail`) is every collection of that name whose path
 * matches, read with a collection-group query. That query also returns the
 * documents of same-named collections outside the pattern
 * (`teams/t1/mail/x`): `contains` tells them apart.
 */
import type { Firestore, Query } from "firebase-admin/firestore";

export interface MailCollection {
  /** MAIL_COLLECTION as configured, e.g. `users/{uid}/mail`. */
  path: string;
  /** The collection id the queries read: the path's last segment. */
  collectionId: string;
  /** Whether `query` is a collection-group query (its single-field indexes need collection-group scope). */
  group: boolean;
  query: Query;
  /** Whether a document path belongs to the mail collection (filters collection-group results). */
  contains(documentPath: string): boolean;
}

const WILDCARD = /^\{[^/{}]+\}$/;

export function mailCollection(db: Firestore, collectionPath: string): MailCollection {
  const segments = collectionPath.split("/");
  const collectionId = segments[segments.length - 1];
  if (!segments.some((segment) => WILDCARD.test(segment))) {
    return {
      path: collectionPath,
      collectionId,
      group: false,
      query: db.collection(collectionPath),
      contains: (path) => parentOf(path) === collectionPath,
    };
  }
  return {
    path: collectionPath,
    collectionId,
    group: true,
    query: db.collectionGroup(collectionId),
    contains: (path) => {
      const parts = parentOf(path).split("/");
      return parts.length === segments.length && segments.every((s, i) => WILDCARD.test(s) || s === parts[i]);
    },
  };
}

/** The path of the collection holding the document at `documentPath`. */
export function parentOf(documentPath: string): string {
  return documentPath.slice(0, documentPath.lastIndexOf("/"));
}
