/**
 * Collection paths with wildcard segments (`tenants/{tenant}/mail`). The
 * values a mail's own path gives its wildcards are the only tenant identity
 * the extension trusts: a mail author chooses where to write, and the rules
 * decide whether it may, so nothing in the document can name another tenant.
 */

const WILDCARD = /^\{([^/{}]+)\}$/;

/** The wildcard's name when `segment` is one (`{tenant}` → `tenant`). */
export const wildcardName = (segment: string): string | undefined => WILDCARD.exec(segment)?.[1];

/** The names of `pattern`'s wildcard segments, in order. */
export const wildcardNames = (pattern: string): string[] =>
  pattern.split("/").flatMap((segment) => wildcardName(segment) ?? []);

/**
 * What the collection `collectionPath` gives `pattern`'s wildcards, or
 * undefined when it does not match (another depth or another fixed segment).
 */
export function matchPattern(pattern: string, collectionPath: string): Record<string, string> | undefined {
  const expected = pattern.split("/");
  const actual = collectionPath.split("/");
  if (expected.length !== actual.length) return undefined;
  const values: Record<string, string> = {};
  for (const [i, segment] of expected.entries()) {
    const name = wildcardName(segment);
    if (name !== undefined) values[name] = actual[i];
    else if (segment !== actual[i]) return undefined;
  }
  return values;
}

/**
 * `pattern` with each `{name}` segment replaced by its value. A segment
 * without a value is a configuration error the caller has checked for, so it
 * throws rather than reading a collection no one named.
 */
export function fillPattern(pattern: string, values: Readonly<Record<string, string>>): string {
  return pattern
    .split("/")
    .map((segment) => {
      const name = wildcardName(segment);
      if (name === undefined) return segment;
      const value = values[name];
      if (value === undefined) throw new Error(`No value for the wildcard {${name}} of "${pattern}"`);
      return value;
    })
    .join("/");
}

/** The path of the collection holding the document at `documentPath`. */
export function parentOf(documentPath: string): string {
  return documentPath.slice(0, documentPath.lastIndexOf("/"));
}

/** What the document at `documentPath` gives the wildcards of its collection's `pattern`, or undefined when it is not in it. */
export const documentWildcards = (pattern: string, documentPath: string): Record<string, string> | undefined => matchPattern(pattern, parentOf(documentPath));
