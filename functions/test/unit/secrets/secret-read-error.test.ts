/**
 * What a failed secret read writes to `delivery.error`: the version's name,
 * the status, the server's words and what to do; permanent when someone must
 * change something, transient when Secret Manager may answer later. Both
 * forms of the client library: gRPC (production) and HTTP/JSON (the tests' fake).
 */
import { secretReadError, secretReadTimeout, secretUnusable } from "../../../src/secrets/secret-read-error";
import { DeliveryError } from "../../../src/shared/errors";
import { registerSecrets } from "../../../src/shared/logs";

const NAME = "projects/p-123456/secrets/smtp/versions/latest";

/** An error as the gRPC transport rejects with: numeric code, message prefixed with it. */
const grpcError = (code: number, status: string, message: string): Error => Object.assign(new Error(`${code} ${status}: ${message}`), { code });

/** An error as the HTTP/JSON transport rejects with: the HTTP status, the body as its message. */
const httpError = (httpStatus: number, body: unknown): Error =>
  Object.assign(new Error(typeof body === "string" ? body : JSON.stringify(body)), { status: httpStatus, code: httpStatus });

describe("the gRPC form", () => {
  it.each([
    [5, "NOT_FOUND", "Secret [projects/123/secrets/smtp] not found or has no versions.", /Check that the secret and this version exist/],
    [9, "FAILED_PRECONDITION", "Secret Version [projects/123/secrets/smtp/versions/2] is in DISABLED state.", /enable it, or name another version/],
    [9, "FAILED_PRECONDITION", "Secret Version [projects/123/secrets/smtp/versions/2] is in DESTROYED state.", /enable it, or name another version/],
    [7, "PERMISSION_DENIED", "Permission 'secretmanager.versions.access' denied for resource", /roles\/secretmanager\.secretAccessor/],
    [3, "INVALID_ARGUMENT", "Invalid resource field value in the request.", /Check the secret version's name/],
  ])("code %i (%s) is permanent, names the version and says what to do", (code, status, message, advice) => {
    const error = secretReadError(NAME, grpcError(code, status, message));
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.code).toBe("lookup-failed");
    expect(error.transient).toBe(false);
    expect(error.message.startsWith(`secret ${NAME} could not be read: ${status} (${message}). `)).toBe(true);
    expect(error.message).toMatch(advice);
  });

  it.each([
    [14, "UNAVAILABLE"],
    [4, "DEADLINE_EXCEEDED"],
    [8, "RESOURCE_EXHAUSTED"],
    [13, "INTERNAL"],
    [16, "UNAUTHENTICATED"],
    [2, "UNKNOWN"],
  ])("code %i (%s) is transient", (code, status) => {
    const error = secretReadError(NAME, grpcError(code, status, "try later"));
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`secret ${NAME} could not be read: ${status} (try later). It may be readable on a later attempt.`);
  });
});

describe("the HTTP/JSON form", () => {
  it("takes the status name from Google's error body: a disabled version is not a malformed request, though both are HTTP 400", () => {
    const body = { error: { code: 400, message: "Secret Version [projects/p/secrets/s/versions/1] is in DISABLED state.", status: "FAILED_PRECONDITION" } };
    const error = secretReadError(NAME, httpError(400, body));
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/: FAILED_PRECONDITION \(Secret Version \[projects\/p\/secrets\/s\/versions\/1\] is in DISABLED state\.\)\. The version is disabled/);
  });

  it.each([
    [404, "NOT_FOUND", false],
    [403, "PERMISSION_DENIED", false],
    [503, "UNAVAILABLE", true],
    [429, "RESOURCE_EXHAUSTED", true],
    [502, "UNAVAILABLE", true],
  ])("without a readable body, HTTP %i reads as %s", (httpStatus, status, transient) => {
    const error = secretReadError(NAME, httpError(httpStatus, "<html>Bad gateway</html>"));
    expect(error.message).toContain(`: ${status} (HTTP ${httpStatus})`);
    expect(error.transient).toBe(transient);
  });
});

describe("no answer at all", () => {
  it("a refused connection is transient and says so by its code", () => {
    const error = secretReadError(NAME, Object.assign(new Error("request to http://x failed, reason: connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect(error.transient).toBe(true);
    expect(error.message).toBe(`secret ${NAME} could not be read: Secret Manager could not be reached (ECONNREFUSED). It may be readable on a later attempt.`);
  });

  it("finds the code under the causes that fetch and its wrappers nest it in", () => {
    const fetchFailed = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }) });
    const error = secretReadError(NAME, new Error("Unexpected Gaxios Error", { cause: fetchFailed }));
    expect(error.transient).toBe(true);
    expect(error.message).toContain("Secret Manager could not be reached (ECONNREFUSED)");
  });

  it("credentials that cannot be found are transient (the function's own, not the profile's)", () => {
    const error = secretReadError(NAME, new Error("Could not load the default credentials."));
    expect(error.transient).toBe(true);
    expect(error.message).toContain("(Could not load the default credentials.)");
  });

  it("a deadline is transient and says how long was waited", () => {
    const error = secretReadTimeout(NAME, 10_000);
    expect([error.code, error.transient]).toEqual(["lookup-failed", true]);
    expect(error.message).toBe(`secret ${NAME} could not be read: Secret Manager did not answer within 10 s. It may be readable on a later attempt.`);
  });
});

describe("the text stays short and clean", () => {
  it("clips a long server message to one line", () => {
    const error = secretReadError(NAME, grpcError(5, "NOT_FOUND", `line one\n${"x".repeat(1_000)}`));
    expect(error.message).not.toContain("\n");
    expect(error.message.length).toBeLessThan(NAME.length + 400);
  });

  it("redacts a registered secret that a server or proxy echoed", () => {
    registerSecrets(["echoed-Secret-9f3a"]);
    const error = secretReadError(NAME, httpError(500, { error: { code: 500, message: "bad value echoed-Secret-9f3a", status: "INTERNAL" } }));
    expect(error.message).not.toContain("echoed-Secret-9f3a");
    expect(error.message).toContain("[REDACTED]");
  });

  it("an unusable value is permanent and never shown", () => {
    const error = secretUnusable(NAME, "its value is empty");
    expect([error.code, error.transient]).toEqual(["lookup-failed", false]);
    expect(error.message).toBe(`secret ${NAME} could not be read: its value is empty. Add a version holding the password or key as text, and name it (or latest).`);
  });
});
