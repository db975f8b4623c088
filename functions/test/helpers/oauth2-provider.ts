/**
 * An OAuth2 mail provider on 127.0.0.1, in two parts like Gmail's:
 * - a token endpoint (HTTP) that trades a refresh token for access tokens
 *   (`grant_type=refresh_token`), or refuses it the way Google does, and
 *   trades the authorization code `AUTHORIZATION_CODE` for the refresh token
 *   (`grant_type=authorization_code`, for scripts/oauth2-refresh-token.js);
 * - an SMTP server that only takes XOAUTH2 logins, with an access token the
 *   endpoint issued and has not revoked. A refused token gets the XOAUTH2
 *   error challenge and then `535`, as from Gmail.
 */
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { selfSignedCertificate } from "./self-signed-certificate";

/** The one authorization code the token endpoint accepts. */
export const AUTHORIZATION_CODE = "authorization-code-4/0Ab";

export interface OAuth2ProviderOptions {
  user: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Lifetime given with each access token (`expires_in`), in seconds. */
  expiresIn?: number;
  /** TLS on the SMTP side, with smtp-sink's self-signed certificate. */
  tls?: "implicit" | "starttls";
}

export interface OAuth2Provider {
  tokenUrl: string;
  smtpPort: number;
  /** Every token request, as the form fields the endpoint received. */
  tokenRequests: Array<Record<string, string>>;
  /** Every XOAUTH2 login attempt. */
  logins: Array<{ user: string; accessToken: string; accepted: boolean }>;
  messages: ParsedMail[];
  /** From now on, refuse every refresh token with this OAuth2 error (RFC 6749 5.2). */
  refuseRefreshToken(error: string, description: string): void;
  /** Makes every access token issued so far invalid, as their expiry does. */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

export async function startOAuth2Provider(options: OAuth2ProviderOptions): Promise<OAuth2Provider> {
  const tokenRequests: OAuth2Provider["tokenRequests"] = [];
  const logins: OAuth2Provider["logins"] = [];
  const messages: ParsedMail[] = [];
  const valid = new Set<string>();
  let refusal: { error: string; error_description: string } | undefined;
  let issued = 0;

  const tokenServer = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      tokenRequests.push(form);
      const reply = (status: number, body: object) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify(body));
      };
      const known =
        form.grant_type === "refresh_token" &&
        form.client_id === options.clientId &&
        form.client_secret === options.clientSecret &&
        form.refresh_token === options.refreshToken;
      if (refusal) return reply(400, refusal);
      if (form.grant_type === "authorization_code" && form.client_id === options.clientId && form.client_secret === options.clientSecret) {
        if (form.code !== AUTHORIZATION_CODE) return reply(400, { error: "invalid_grant", error_description: "Malformed auth code." });
        return reply(200, { access_token: `access-token-${++issued}`, refresh_token: options.refreshToken, expires_in: 3599 });
      }
      if (!known) return reply(401, { error: "invalid_client", error_description: "The OAuth client was not found." });
      const accessToken = `access-token-${++issued}`;
      valid.add(accessToken);
      reply(200, { access_token: accessToken, expires_in: options.expiresIn ?? 3599, token_type: "Bearer" });
    });
  });
  tokenServer.listen(0, "127.0.0.1");
  await once(tokenServer, "listening");

  const certificate = options.tls ? selfSignedCertificate() : undefined;
  const smtp = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    secure: options.tls === "implicit",
    key: certificate?.key,
    cert: certificate?.cert,
    disabledCommands: options.tls === "starttls" ? [] : ["STARTTLS"],
    authMethods: ["XOAUTH2"],
    allowInsecureAuth: true,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      const accepted = auth.method === "XOAUTH2" && auth.username === options.user && valid.has(auth.accessToken ?? "");
      logins.push({ user: auth.username ?? "", accessToken: auth.accessToken ?? "", accepted });
      if (accepted) return callback(null, { user: auth.username });
      callback(null, { data: { status: "401", schemes: "bearer", scope: "https://mail.google.com/" } });
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          messages.push(parsed);
          callback(null);
        },
        (error: Error) => callback(error),
      );
    },
  });
  smtp.on("error", () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));

  return {
    tokenUrl: `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`,
    smtpPort: (smtp.server.address() as AddressInfo).port,
    tokenRequests,
    logins,
    messages,
    refuseRefreshToken: (error, description) => {
      refusal = { error, error_description: description };
    },
    revokeAccessTokens: () => valid.clear(),
    close: async () => {
      tokenServer.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => tokenServer.close(() => resolve())),
        new Promise<void>((resolve) => {
          for (const connection of smtp.connections) if (!connection._upgrading) connection._socket.destroy();
          smtp.close(() => resolve());
        }),
      ]);
    },
  };
}
