/**
 * Where requests that carry credentials go (the OAuth2 token endpoint, with
 * CLIENT_SECRET and REFRESH_TOKEN; SendGrid's API, with the API key) is fixed
 * in code: whoever could point them elsewhere would collect those secrets.
 * Tests redirect them to local fakes, on loopback only.
 */

export interface ProviderEndpoints {
  /** Replaces Google's and Microsoft's OAuth2 token endpoints. */
  readonly oauth2TokenUrl?: string;
  /** Replaces https://api.sendgrid.com as the base URL of SendGrid's API. */
  readonly sendGridApiUrl?: string;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

let redirected: ProviderEndpoints = {};

/** The endpoints a test has redirected; empty outside tests. */
export function redirectedEndpoints(): ProviderEndpoints {
  return redirected;
}

/**
 * For tests only: sends new transports' provider requests to local fakes.
 * Returns a function that restores the previous endpoints.
 */
export function redirectProvidersForTests(endpoints: ProviderEndpoints): () => void {
  for (const url of Object.values(endpoints)) {
    if (url !== undefined && !LOOPBACK_HOSTS.has(new URL(url).hostname)) {
      throw new Error("Provider endpoints can only be redirected to a loopback address");
    }
  }
  const previous = redirected;
  redirected = Object.freeze({ ...previous, ...endpoints });
  return () => {
    redirected = previous;
  };
}
