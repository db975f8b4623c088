/**
 * Counts the Firestore RPCs one client makes, as a check on
 * the MailStore's own counts that also sees reads made outside MailStore
 * (templates, users). It wraps the two private methods every RPC of
 * @google-cloud/firestore goes through (`request` for unary calls,
 * `requestStream` for streaming ones), so it is bound to that library's
 * internals and belongs in the benchmark only.
 */
import type { Firestore } from "firebase-admin/firestore";

export interface RpcCounts {
  /** Commit RPCs, and the document writes they carried (conditional ones included, won or lost). */
  commits: number;
  documentWrites: number;
  /** Documents asked for by BatchGetDocuments (every `get`, in or out of a transaction). */
  documentReads: number;
  /** RunQuery and RunAggregationQuery calls. */
  queries: number;
  /** BeginTransaction calls and transactions started inside a read. */
  transactions: number;
}

interface Internals {
  request(method: string, request: Record<string, unknown>, ...rest: unknown[]): Promise<unknown>;
  requestStream(method: string, bidirectional: unknown, request: Record<string, unknown>, ...rest: unknown[]): Promise<unknown>;
}

/** Starts counting the RPCs of `db`; the returned object is updated live. */
export function countRpcs(db: Firestore): RpcCounts {
  const counts: RpcCounts = { commits: 0, documentWrites: 0, documentReads: 0, queries: 0, transactions: 0 };
  const client = db as unknown as Internals;
  const request = client.request.bind(client);
  const requestStream = client.requestStream.bind(client);

  client.request = (method, body, ...rest) => {
    if (method === "commit") {
      counts.commits++;
      counts.documentWrites += Array.isArray(body.writes) ? body.writes.length : 0;
    }
    if (method === "beginTransaction") counts.transactions++;
    return request(method, body, ...rest);
  };
  client.requestStream = (method, bidirectional, body, ...rest) => {
    if (method === "batchGetDocuments") {
      counts.documentReads += Array.isArray(body.documents) ? body.documents.length : 0;
      if (body.newTransaction) counts.transactions++;
    }
    if (method === "runQuery" || method === "runAggregationQuery") {
      counts.queries++;
      if (body.newTransaction) counts.transactions++;
    }
    return requestStream(method, bidirectional, body, ...rest);
  };
  return counts;
}
