/**
 * Queries over the mail collection for the scheduled maintenance. A plain
 * path (`mail`, `tenants/acme/mail`) is one collection; a path with wildcard
 * segments (`users/{uid}/mail`) is every collection of that name whose path
 * matches, read with a collection-group query.
 */
import type { Firestore, Query } from "firebase-admin/firestore";

export interface MailCollection {
  query: Query;
  /** Whether a document path belongs to the mail collection (filters collection-group results). */
  contains(documentPath: string): boolean;
}

const WILDCARD = /^\{[^/{}]+\}$/;

export function mailCollection(db: Firestore, collectionPath: string): MailCollection {
  const segments = collectionPath.split("/");
  if (!segments.some((segment) => WILDCARD.test(segment))) {
    return {
      query: db.collection(collectionPath),
      contains: (path) => parentOf(path) === collectionPath,
    };
  }
  const collectionId = segments[segments.length - 1];
  return {
    query: db.collectionGroup(collectionId),
    contains: (path) => {
      const parts = parentOf(path).split("/");
      return parts.length === segments.length && segments.every((s, i) => WILDCARD.test(s) || s === parts[i]);
    },
  };
}

function parentOf(documentPath: string): string {
  return documentPath.slice(0, documentPath.lastIndexOf("/"));
}
