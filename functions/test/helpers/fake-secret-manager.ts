/**
 * A local stand-in for Secret Manager's `accessSecretVersion`, in the
 * HTTP/JSON form the client library speaks in its HTTP/1.1 (`fallback`) mode:
 * `GET /v1/projects/P/secrets/S/versions/V:access` answered with
 * `{"name", "payload": {"data": base64}}`, or Google's error body
 * `{"error": {"code", "message", "status"}}` with the messages Secret Manager
 * gives. Versions are numbered from 1 per secret; `latest` is the newest,
 * whatever its state (as in Secret Manager, a disabled newest version makes
 * `latest` fail). On 127.0.0.1, port 0.
 */
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

type VersionState = "ENABLED" | "DISABLED" | "DESTROYED";

export interface FakeSecretManager {
  /** Base URL, for createSecretSource's `endpoint`. */
  url: string;
  /** Adds a version to `secret` (`projects/P/secrets/S`), enabled; returns its name (`…/versions/N`). */
  addVersion(secret: string, value: string | Buffer): string;
  disable(version: string): void;
  destroy(version: string): void;
  /** Requests that named this version (as asked: `…/latest` counts apart from `…/3`); every request without an argument. */
  requestCount(version?: string): number;
  /** Answers every request with this HTTP status and Google status name until `recover()`. */
  failWith(httpStatus: number, status: string, message?: string): void;
  /** Reads requests but never answers them, until `recover()`. */
  hang(): void;
  recover(): void;
  close(): Promise<void>;
}

const ACCESS = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/;

export async function startFakeSecretManager(): Promise<FakeSecretManager> {
  const secrets = new Map<string, Array<{ value: Buffer; state: VersionState }>>();
  const requests: string[] = [];
  let failure: { httpStatus: number; status: string; message: string } | undefined;
  let hanging = false;

  const reply = (response: http.ServerResponse, httpStatus: number, body: unknown): void => {
    response.writeHead(httpStatus, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(body));
  };
  const error = (response: http.ServerResponse, httpStatus: number, status: string, message: string): void =>
    reply(response, httpStatus, { error: { code: httpStatus, message, status } });

  const server = http.createServer((request, response) => {
    const match = request.method === "GET" ? ACCESS.exec(new URL(request.url ?? "/", "http://fake").pathname) : null;
    if (!match) return error(response, 404, "NOT_FOUND", "Not a Secret Manager accessSecretVersion request.");
    const [, secret, version] = match;
    requests.push(`${secret}/versions/${version}`);
    if (hanging) return;
    if (failure) return error(response, failure.httpStatus, failure.status, failure.message);
    const versions = secrets.get(secret) ?? [];
    const number = version === "latest" ? versions.length : Number(version);
    const found = versions[number - 1];
    if (!found) {
      return error(response, 404, "NOT_FOUND", version === "latest" ? `Secret [${secret}] not found or has no versions.` : `Secret Version [${secret}/versions/${version}] not found.`);
    }
    if (found.state !== "ENABLED") return error(response, 400, "FAILED_PRECONDITION", `Secret Version [${secret}/versions/${number}] is in ${found.state} state.`);
    reply(response, 200, { name: `${secret}/versions/${number}`, payload: { data: found.value.toString("base64") } });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  const version = (name: string): { value: Buffer; state: VersionState } => {
    const match = /^(projects\/[^/]+\/secrets\/[^/]+)\/versions\/(\d+)$/.exec(name);
    const found = match ? secrets.get(match[1])?.[Number(match[2]) - 1] : undefined;
    if (!found) throw new Error(`The fake Secret Manager has no version ${name}`);
    return found;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    addVersion(secret, value) {
      const versions = secrets.get(secret) ?? [];
      versions.push({ value: typeof value === "string" ? Buffer.from(value, "utf8") : value, state: "ENABLED" });
      secrets.set(secret, versions);
      return `${secret}/versions/${versions.length}`;
    },
    disable: (name) => void (version(name).state = "DISABLED"),
    destroy(name) {
      const found = version(name);
      found.state = "DESTROYED";
      found.value = Buffer.alloc(0);
    },
    requestCount: (name) => (name === undefined ? requests.length : requests.filter((asked) => asked === name).length),
    failWith(httpStatus, status, message = `The service is currently ${status.toLowerCase()}.`) {
      failure = { httpStatus, status, message };
    },
    hang: () => void (hanging = true),
    recover() {
      failure = undefined;
      hanging = false;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
