import { ConfigError } from "../../../src/shared/errors";
import { readProfile } from "../../../src/tenants/profile-document";
import { caught } from "../../helpers/caught";

const VERSION = "projects/p/secrets/acme-smtp/versions/latest";

describe("a sender profile document", () => {
  it("reads params as text, secrets as Secret Manager versions, and a rate", () => {
    const profile = readProfile("acme", {
      params: { SMTP_CONNECTION_URI: "smtps://acme@smtp.acme.example:465", DEFAULT_FROM: "a@acme.example", OAUTH_PORT: 587, OAUTH_SECURE: false, TLS_OPTIONS: { minVersion: "TLSv1.2" } },
      secrets: { SMTP_PASSWORD: VERSION },
      maxMessagesPerSecond: 5,
    });
    expect(profile).toEqual({
      id: "acme",
      params: { SMTP_CONNECTION_URI: "smtps://acme@smtp.acme.example:465", DEFAULT_FROM: "a@acme.example", OAUTH_PORT: "587", OAUTH_SECURE: "false", TLS_OPTIONS: '{"minVersion":"TLSv1.2"}' },
      secrets: { SMTP_PASSWORD: VERSION },
      maxPerSecond: 5,
    });
  });

  it.each([
    [undefined, 'Sender profile "acme": no such profile document'],
    [{ params: { SMTP_PASSWORD: "hunter2" } }, "params.SMTP_PASSWORD is a secret and must not be stored in Firestore"],
    [{ params: { CLIENT_SECRET: "hunter2" } }, "params.CLIENT_SECRET is a secret"],
    [{ params: { SMTP_CONNECTION_URI: "smtp://acme:hunter2@h:25" } }, "must not contain a password"],
    [{ params: { MAIL_COLLECTION: "other" } }, "params.MAIL_COLLECTION is not a param a profile may set"],
    [{ params: { MAX_ATTEMPTS: "10" } }, "params.MAX_ATTEMPTS is not a param"],
    [{ params: { DEFAULT_FROM: ["a"] } }, "params.DEFAULT_FROM must be a string"],
    [{ params: "x" }, "params must be a map"],
    [{ secrets: { SMTP_PASSWORD: "hunter2" } }, "secrets.SMTP_PASSWORD must name a Secret Manager version"],
    [{ secrets: { SMTP_PASSWORD: "projects/p/secrets/s/versions/0" } }, "must name a Secret Manager version"],
    [{ secrets: { DEFAULT_FROM: VERSION } }, "secrets.DEFAULT_FROM is not a secret a profile may name"],
    [{ params: { CLIENT_ID: "id" }, secrets: { CLIENT_ID: VERSION } }, "CLIENT_ID set in both params and secrets"],
    [{ maxMessagesPerSecond: 0 }, "maxMessagesPerSecond must be a number greater than 0"],
    [{ maxMessagesPerSecond: 5000 }, "at most 1000"],
    [{ from: "x@example.com" }, 'unknown fields "from"'],
  ])("refuses %j, naming the field", (data, text) => {
    const error = caught(ConfigError, () => readProfile("acme", data as Record<string, unknown> | undefined));
    expect(error.message).toContain(text);
    expect(error.message).toMatch(/^Sender profile "acme": /);
    expect(error.message).not.toContain("hunter2");
  });
});
