/**
 * OAuth2 (XOAUTH2) login for the SMTP transport. A pooled nodemailer
 * transport gives each new connection its own token generator, so every
 * reconnect would ask the provider for a token; here one generator is shared
 * through `provisionCallback`: a token is fetched once, reused until it
 * expires, and renewed early when the server refuses it (`renew`).
 * Loaded only when AUTH_TYPE is OAuth2.
 */
import type SMTPPool from "nodemailer/lib/smtp-pool";
import XOAuth2 from "nodemailer/lib/xoauth2";
import { TOKEN_REQUEST_TIMEOUT_MS } from "../../shared/budget";
import * as logs from "../../shared/logs";
import { isMicrosoftHost, MICROSOFT_SMTP_SCOPE, microsoftTokenUrl } from "./microsoft";

/** Well inside the 40 s send deadline. */

/** What config builds from USER, CLIENT_ID, CLIENT_SECRET and REFRESH_TOKEN. */
type OAuth2Credentials = Pick<XOAuth2.Options, "user" | "clientId" | "clientSecret" | "refreshToken">;

/**
 * The nodemailer `auth` for an OAuth2 login to `host`. TLS_OPTIONS does not
 * apply to the token request: a `ca` meant for a private SMTP server would
 * fail the provider's public token endpoint.
 */
export function oauth2Auth(credentials: OAuth2Credentials, host: string | undefined, tokenUrl?: string): NonNullable<SMTPPool.Options["auth"]> {
  const microsoft = isMicrosoftHost(host);
  const tokens = new XOAuth2({
    user: credentials.user,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    refreshToken: credentials.refreshToken,
    // Undefined keeps nodemailer's default, Google's token endpoint.
    accessUrl: tokenUrl ?? (microsoft ? microsoftTokenUrl(credentials.user) : undefined),
    // Microsoft issues tokens for the scopes asked for; Google for those granted.
    customParams: microsoft ? { scope: MICROSOFT_SMTP_SCOPE } : undefined,
    requestTimeout: TOKEN_REQUEST_TIMEOUT_MS,
  });
  tokens.on("token", (token: { accessToken: string; expires?: number }) => {
    // A bearer token is as good as a password until it expires.
    logs.registerSecrets([token.accessToken]);
    logs.oauth2TokenIssued(host, token.expires || undefined);
  });

  return {
    type: "OAuth2",
    user: credentials.user,
    provisionCallback: (_user, renew, callback) => {
      tokens.getToken(renew, (error, accessToken) => (error ? callback(error) : callback(null, accessToken, tokens.expires || undefined)));
    },
  };
}
