/**
 * Reads secret versions with the Secret Manager client library
 * (`accessSecretVersion`). Production passes no endpoint: Google's, with the
 * function's Application Default Credentials. The library (google-gax and
 * gRPC) is loaded with the first read, not at import, so that instances
 * without sender profiles never pay for it at cold start.
 *
 * Tests point the real library at a fake Secret Manager on loopback instead,
 * over its HTTP/1.1 JSON transport and with a credential that asks Google for
 * nothing. Whoever could redirect the client elsewhere could serve forged
 * credentials to the extension, so anything but a loopback address is refused.
 */
import type { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import { withDeadline } from "../shared/deadline";
import { isLoopbackHost } from "../shared/loopback";
import { secretReadError, secretReadTimeout, secretUnusable } from "./secret-read-error";

export interface SecretManagerReaderOptions {
  /** Tests only: the base URL of a fake Secret Manager, `http://127.0.0.1:PORT` (loopback only). */
  readonly endpoint?: string;
  /** The bound on one read, the library's own retries included. */
  readonly deadlineMs: number;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof SecretManagerServiceClient>[0]>;

/** A function reading one version's value, or failing with a DeliveryError naming the version. */
export function createSecretManagerReader(options: SecretManagerReaderOptions): (name: string) => Promise<string> {
  const endpoint = options.endpoint === undefined ? undefined : loopbackEndpoint(options.endpoint);
  let client: SecretManagerServiceClient | undefined;
  return async (name) => {
    // Built on first use and kept; a construction that throws is not kept, so the next read tries again.
    const current = (client ??= newClient(endpoint));
    const [version] = await withDeadline(
      () => current.accessSecretVersion({ name }, { timeout: options.deadlineMs }).catch((error: unknown) => Promise.reject(secretReadError(name, error))),
      options.deadlineMs,
      () => secretReadTimeout(name, options.deadlineMs),
    );
    return decodeValue(name, version.payload?.data);
  };
}

function newClient(endpoint: URL | undefined): SecretManagerServiceClient {
  const library = require("@google-cloud/secret-manager") as typeof import("@google-cloud/secret-manager");
  const client = endpoint ? new library.SecretManagerServiceClient(fakeServerOptions(endpoint)) : new library.SecretManagerServiceClient();
  // The library logs every response, secret payload included, when GOOGLE_SDK_NODE_LOGGING names it (an
  // operator debugging Firestore may set it to "*"). This client's log is silenced; the integration test
  // with that variable set fails if a new version of the library logs some other way.
  (client as unknown as { _log: unknown })._log = clientGax().loggingUtils.placeholder;
  return client;
}

interface Gax {
  googleAuthLibrary: { PassThroughClient: new (options: { transporterOptions: { fetchImplementation: typeof fetch } }) => NonNullable<ClientOptions["authClient"]> };
  loggingUtils: { placeholder: unknown };
}

/** The google-gax the client library itself uses, wherever npm placed it. */
const clientGax = (): Gax => require(require.resolve("google-gax", { paths: [require.resolve("@google-cloud/secret-manager")] })) as Gax;

/** HTTP/1.1 JSON to the fake, with the library's own credential that adds no header and fetches no token. */
function fakeServerOptions(endpoint: URL): ClientOptions {
  return {
    apiEndpoint: endpoint.hostname,
    port: Number(endpoint.port),
    protocol: "http",
    fallback: true,
    // Node's own fetch: the library's default loads node-fetch with a dynamic import(), which jest's module loader cannot run.
    authClient: new (clientGax().googleAuthLibrary.PassThroughClient)({ transporterOptions: { fetchImplementation: fetch } }),
  };
}

function loopbackEndpoint(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== "http:" || !isLoopbackHost(parsed.hostname) || parsed.port === "") {
    throw new Error("The Secret Manager endpoint can only be redirected to a loopback address, as http://127.0.0.1:PORT");
  }
  return parsed;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A version's payload as text. An empty or non-UTF-8 payload cannot be a password or key: say so rather than send it. */
function decodeValue(name: string, data: Uint8Array | string | null | undefined): string {
  const bytes = typeof data === "string" ? Buffer.from(data, "base64") : data;
  if (!bytes || bytes.length === 0) throw secretUnusable(name, "its value is empty");
  try {
    return utf8.decode(bytes);
  } catch {
    throw secretUnusable(name, "its value is not UTF-8 text");
  }
}
