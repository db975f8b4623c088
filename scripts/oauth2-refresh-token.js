#!/usr/bin/env node
/**
 * Obtains an OAuth2 refresh token for sending mail over SMTP with XOAUTH2,
 * for the extension's REFRESH_TOKEN param. Run it once, on your own machine:
 *
 *   CLIENT_ID=... CLIENT_SECRET=... node scripts/oauth2-refresh-token.js google
 *   CLIENT_ID=... CLIENT_SECRET=... node scripts/oauth2-refresh-token.js microsoft --user you@contoso.com
 *
 * It prints a sign-in link, waits on http://localhost:PORT/callback for the
 * provider to send the browser back, trades the code for tokens and prints
 * the refresh token. Nothing is written to disk. No dependencies: Node 18+.
 *
 * Options:
 *   --port N      local port for the redirect (default 3000); the redirect URI
 *                 http://localhost:N/callback must be registered with the client
 *   --user EMAIL  the mailbox (USER param); preselects it at sign-in and, for
 *                 Microsoft, picks the directory as the extension does
 *   --tenant ID   Microsoft only: the directory to sign in to, overriding --user
 *
 * The client secret is read from CLIENT_SECRET (or asked for, without being
 * shown as it is typed), not from the command line, so that it stays out of
 * shell history, process lists and the screen. The provider's endpoints are
 * fixed: nothing in the environment can send the secret anywhere else.
 */
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");

const PROVIDERS = {
  google: {
    name: "Google",
    authorizeUrl: () => "https://accounts.google.com/o/oauth2/v2/auth",
    tokenUrl: () => "https://oauth2.googleapis.com/token",
    scope: "https://mail.google.com/",
    tokenScope: false,
    // Google issues a refresh token only with offline access, and reliably only when consent is shown.
    extra: { access_type: "offline", prompt: "consent" },
  },
  microsoft: {
    name: "Microsoft",
    authorizeUrl: (tenant) => `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/authorize`,
    tokenUrl: (tenant) => `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
    scope: "https://outlook.office.com/SMTP.Send offline_access",
    // Microsoft issues tokens for the scopes named in the token request too.
    tokenScope: true,
    extra: { response_mode: "query", prompt: "select_account" },
  },
};

const WAIT_MS = 5 * 60 * 1000;

const USAGE =
  "Usage: CLIENT_ID=... CLIENT_SECRET=... node scripts/oauth2-refresh-token.js google|microsoft [--port N] [--user EMAIL] [--tenant ID]";

/** A mistake in how the script was called: reported with the usage line, exit code 2. */
class UsageError extends Error {}

function usage(message) {
  throw new UsageError(message);
}

function parseArgs(argv) {
  const [providerName, ...rest] = argv;
  const provider = PROVIDERS[providerName];
  if (!provider) usage(providerName ? `Unknown provider "${providerName}".` : "Which provider: google or microsoft?");
  const options = { provider, port: 3000, user: undefined, tenant: undefined };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) usage(`${flag} needs a value.`);
    if (flag === "--port" && /^[0-9]{1,5}$/.test(value) && Number(value) > 0 && Number(value) < 65536) options.port = Number(value);
    else if (flag === "--user") options.user = value;
    else if (flag === "--tenant" && providerName === "microsoft") options.tenant = value;
    else usage(`Unknown or invalid option ${flag} ${value}.`);
  }
  return options;
}

/** The same directory the extension renews tokens at: the user's domain, `consumers` for personal accounts. */
function microsoftTenant(user) {
  const domain = user && user.includes("@") ? user.slice(user.lastIndexOf("@") + 1).toLowerCase() : "";
  if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain)) return "common";
  return /^(outlook|hotmail|live|msn|passport)\.[a-z.]+$/.test(domain) ? "consumers" : domain;
}

/**
 * Asks questions on `output` and reads the answers from `input`, one line
 * each. On a terminal the input is read in raw mode, so that a hidden answer
 * is never echoed (raw mode also turns Ctrl+C into a character, handled here
 * as a cancel). Piped input is read line by line, keeping what arrives beyond
 * one line for the next question.
 */
function createPrompt(input, output) {
  const terminal = Boolean(input.isTTY && typeof input.setRawMode === "function");
  let received = "";
  let ended = false;

  function ask(question, { hidden = false } = {}) {
    return new Promise((resolve, reject) => {
      let answer = "";
      const finish = (error) => {
        input.off("data", onData);
        input.off("end", onEnd);
        if (terminal) input.setRawMode(false);
        input.pause();
        output.write("\n");
        if (error) reject(error);
        else resolve(answer.trim());
      };
      const consume = () => {
        while (received.length > 0) {
          const escape = /^\u001b(\[[0-9;]*[~A-Za-z]|O[A-Za-z])?/.exec(received);
          if (escape) {
            // Arrow and function keys are not part of an answer.
            received = received.slice(escape[0].length);
            continue;
          }
          const [char] = received;
          received = received.slice(char.length);
          if (char === "\n" || (terminal && char === "\r")) return finish();
          if (terminal && char === "\u0003") return finish(new Error("Cancelled."));
          if (terminal && char === "\u0004" && answer === "") return finish();
          if (terminal && (char === "\u007f" || char === "\b")) {
            if (answer !== "" && !hidden) output.write("\b \b");
            answer = Array.from(answer).slice(0, -1).join("");
            continue;
          }
          if (char < " " && char !== "\t") continue;
          answer += char;
          if (terminal && !hidden) output.write(char);
        }
        if (ended || input.readableEnded) finish();
      };
      const onData = (chunk) => {
        received += chunk.toString("utf8");
        consume();
      };
      const onEnd = () => {
        ended = true;
        consume();
      };
      // Raw mode before the question: a key pressed as soon as it shows must not be echoed either.
      if (terminal) input.setRawMode(true);
      output.write(question);
      input.on("data", onData);
      input.on("end", onEnd);
      input.resume();
      consume();
    });
  }

  return { ask };
}

const base64url = (buffer) => buffer.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Listens on IPv4 and, where available, IPv6 loopback: browsers may try either for "localhost". */
async function listen(port, onRequest) {
  const servers = [];
  for (const host of ["127.0.0.1", "::1"]) {
    const server = http.createServer(onRequest);
    const listening = await new Promise((resolve, reject) => {
      server.once("error", (error) => (host === "::1" ? resolve(false) : reject(error)));
      server.listen(port, host, () => resolve(true));
    });
    if (listening) servers.push(server);
  }
  return () => servers.forEach((server) => server.close());
}

/**
 * Starts the local redirect target; resolves once it listens, with a promise
 * of the authorization code the provider sends the browser back with.
 */
async function callbackServer(port, state) {
  let settle;
  const code = new Promise((resolve, reject) => (settle = { resolve, reject }));
  let stop = () => undefined;
  const timer = setTimeout(() => finish(new Error("No sign-in arrived within 5 minutes.")), WAIT_MS);
  const finish = (error, value) => {
    clearTimeout(timer);
    stop();
    if (error) settle.reject(error);
    else settle.resolve(value);
  };
  const page = (response, status, text) => {
    response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
    response.end(`${text}\n`);
  };
  try {
    stop = await listen(port, (request, response) => {
      const url = new URL(request.url, `http://localhost:${port}`);
      if (url.pathname !== "/callback") return page(response, 404, "Not found.");
      const params = url.searchParams;
      if (params.get("state") !== state) return page(response, 400, "This sign-in was not started by this script.");
      if (params.get("error")) {
        page(response, 400, "Sign-in failed; see the terminal.");
        return finish(new Error(`${params.get("error")}: ${params.get("error_description") || "no description"}`));
      }
      if (!params.get("code")) return page(response, 400, "No authorization code in the redirect.");
      page(response, 200, "Done. You can close this window and return to the terminal.");
      finish(undefined, params.get("code"));
    });
  } catch (error) {
    clearTimeout(timer);
    throw new Error(`Cannot listen on port ${port} (${error.code || error.message}); choose another with --port.`);
  }
  return { code };
}

/**
 * Runs the script; resolves with its exit code. `io` holds the streams and
 * environment (the process's own when run from the command line).
 * `io.endpoints` replaces the provider's authorize and token URLs; only this
 * script's tests pass it, from their own process.
 */
async function run(io) {
  try {
    await obtainRefreshToken(io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message ? `${error.message}\n\n` : ""}${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`\n${error.message}\n`);
    return 1;
  }
}

async function obtainRefreshToken({ argv, env, stdin, stdout, stderr, endpoints = {} }) {
  const options = parseArgs(argv);
  const { provider } = options;
  let clientId = env.CLIENT_ID;
  let clientSecret = env.CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    const prompt = createPrompt(stdin, stderr);
    clientId ||= await prompt.ask(`${provider.name} OAuth2 client ID: `);
    clientSecret ||= await prompt.ask(`${provider.name} OAuth2 client secret (not shown): `, { hidden: true });
  }
  if (!clientId || !clientSecret) usage("A client ID and a client secret are needed.");

  const tenant = options.tenant || microsoftTenant(options.user);
  const redirectUri = `http://localhost:${options.port}/callback`;
  const state = base64url(crypto.randomBytes(16));
  const verifier = base64url(crypto.randomBytes(32));
  const challenge = base64url(crypto.createHash("sha256").update(verifier).digest());

  const authorize = new URL(endpoints.authorizeUrl || provider.authorizeUrl(tenant));
  const query = {
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: provider.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...provider.extra,
    ...(options.user ? { login_hint: options.user } : {}),
  };
  for (const [name, value] of Object.entries(query)) authorize.searchParams.set(name, value);

  const callback = await callbackServer(options.port, state);
  stderr.write(`\nOpen this link in a browser and sign in as the account that will send the mail:\n\n${authorize.href}\n\n`);
  stderr.write(`Waiting for the redirect to ${redirectUri} …\n`);
  const code = await callback.code;

  const form = {
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    client_secret: clientSecret,
    code_verifier: verifier,
    ...(provider.tokenScope ? { scope: provider.scope } : {}),
  };
  const response = await fetch(endpoints.tokenUrl || provider.tokenUrl(tenant), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.refresh_token !== "string") {
    const reason = body.error ? `${body.error}: ${body.error_description || ""}`.trim() : `HTTP ${response.status}`;
    throw new Error(`${provider.name} did not issue a refresh token (${reason}).`);
  }
  stderr.write("\nSet this as the extension's REFRESH_TOKEN (it is a secret: store it only there):\n\n");
  stdout.write(`${body.refresh_token}\n`);
}

module.exports = { run, createPrompt };

if (require.main === module) {
  const { argv, env, stdin, stdout, stderr } = process;
  // Not process.exit(): the browser's answer page must still go out.
  run({ argv: argv.slice(2), env, stdin, stdout, stderr }).then((code) => (process.exitCode = code));
}
