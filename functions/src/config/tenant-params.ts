/**
 * Sender profiles per tenant (docs/tenants.md). The tenant is the value of
 * MAIL_COLLECTION's one wildcard in the mail's own path, so that who may
 * send through a profile is decided by where a mail may be written (the
 * security rules), never by a field its author sets. Collection params may
 * name MAIL_COLLECTION's wildcards too (`tenants/{tenant}/templates`): they
 * are filled from the same path.
 */
import { wildcardNames } from "../shared/path-pattern";
import { collectionPath, readChoice, receivedName, type Env } from "./env-values";

export interface SenderProfiles {
  /** SENDER_PROFILES_COLLECTION: one document per tenant, named by the tenant's id. */
  readonly collection: string;
  /** MAIL_COLLECTION's wildcard whose value names the profile, e.g. `tenant`. */
  readonly tenantWildcard: string;
}

const SUPPRESSION_SCOPES = ["tenant", "global"] as const;
export type SuppressionScope = (typeof SUPPRESSION_SCOPES)[number];

/** The collection params that may use MAIL_COLLECTION's wildcards, filled from each mail's path. */
export const TENANT_COLLECTION_PARAMS = ["TEMPLATES_COLLECTION", "USERS_COLLECTION", "SUPPRESSION_COLLECTION"] as const;

export function parseSenderProfiles(env: Env, mailCollection: string, problems: string[]): SenderProfiles | undefined {
  const collection = collectionPath(env, "SENDER_PROFILES_COLLECTION", problems);
  const mailWildcards = wildcardNames(mailCollection);
  for (const name of TENANT_COLLECTION_PARAMS) {
    const value = env[name]?.trim();
    const unknown = value ? wildcardNames(value).filter((wildcard) => !mailWildcards.includes(wildcard)) : [];
    if (unknown.length > 0) {
      problems.push(`${name} may only use MAIL_COLLECTION's wildcards (${mailWildcards.map((w) => `{${w}}`).join(", ") || "it has none"}), got ${unknown.map((w) => `{${w}}`).join(", ")}`);
    }
  }
  const scope = readChoice(env, "SUPPRESSION_SCOPE", SUPPRESSION_SCOPES, "tenant", problems);
  if (collection === undefined) return undefined;
  if (wildcardNames(collection).length > 0) {
    problems.push(`SENDER_PROFILES_COLLECTION must be a fixed collection path, without wildcards, got ${receivedName(collection)}`);
  }
  if (collection === mailCollection) problems.push("SENDER_PROFILES_COLLECTION must differ from MAIL_COLLECTION");
  if (mailWildcards.length !== 1) {
    problems.push(
      `SENDER_PROFILES_COLLECTION needs a MAIL_COLLECTION with exactly one wildcard naming the tenant (such as tenants/{tenant}/mail), got ${receivedName(mailCollection)}`,
    );
    return undefined;
  }
  const tenantWildcard = mailWildcards[0];
  const suppression = env.SUPPRESSION_COLLECTION?.trim();
  if (suppression && scope === "tenant" && !wildcardNames(suppression).includes(tenantWildcard)) {
    // One customer's bounce or unsubscribe must not silence another customer's mail by surprise.
    problems.push(
      `SUPPRESSION_COLLECTION is one list for every tenant: with SENDER_PROFILES_COLLECTION set, name the tenant in it (such as tenants/{${tenantWildcard}}/suppression), or set SUPPRESSION_SCOPE to global to share it on purpose`,
    );
  }
  return Object.freeze({ collection, tenantWildcard });
}
