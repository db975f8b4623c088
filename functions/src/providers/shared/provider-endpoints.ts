/**
 * Where requests that carry credentials go (the OAuth2 token endpoint, with
 * CLIENT_SECRET and REFRESH_TOKEN; SendGrid's API, with the API key) is fixed
 * in code: whoever could point them elsewhere would collect those secrets.
 * Only a runtime built by tests replaces them, and only with loopback fakes.
 */
import { isLoopbackHost } from "../../shared/loopback";

export interface ProviderEndpoints {
  /** Replaces Google's and Microsoft's OAuth2 token endpoints. */
  readonly oauth2TokenUrl?: string;
  /** Replaces https://api.sendgrid.com as the base URL of SendGrid's API. */
  readonly sendGridApiUrl?: string;
}

/** `endpoints`, if every one is on loopback: even a stray caller cannot send a credential off the machine. */
export function loopbackEndpoints(endpoints: ProviderEndpoints): ProviderEndpoints {
  for (const url of Object.values(endpoints)) {
    if (url !== undefined && !isLoopbackHost(new URL(url).hostname)) {
      throw new Error("Provider endpoints can only be redirected to a loopback address");
    }
  }
  return Object.freeze({ ...endpoints });
}
