/**
 * A sender profile names each secret version in one form; anything else is
 * refused before a request is made, saying what was expected and which part
 * is wrong, without repeating what was given (it may be the password itself).
 */
import { checkSecretVersionName } from "../../../src/secrets/secret-version-name";
import { ConfigError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

describe("checkSecretVersionName", () => {
  it.each([
    "projects/my-project/secrets/smtp-password/versions/latest",
    "projects/my-project/secrets/smtp-password/versions/3",
    "projects/123456789012/secrets/SENDGRID_KEY/versions/12",
    "projects/example.com:my-project/secrets/s/versions/1",
  ])("accepts %s", (name) => {
    expect(checkSecretVersionName(name)).toBe(name);
  });

  it.each([
    ["a secret without its version", "projects/my-project/secrets/smtp-password", /does not have this form/],
    ["a regional secret", "projects/my-project/locations/europe-west1/secrets/s/versions/1", /does not have this form/],
    ["a leading slash", "/projects/my-project/secrets/s/versions/1", /does not have this form/],
    ["a project id with capitals", "projects/My-Project/secrets/s/versions/1", /PROJECT is not a project id or number/],
    ["a project id too short", "projects/abc/secrets/s/versions/1", /PROJECT is not a project id or number/],
    ["a secret id with a dot", "projects/my-project/secrets/smtp.password/versions/1", /SECRET is not a secret id/],
    ["an empty secret id", "projects/my-project/secrets//versions/1", /SECRET is not a secret id/],
    ["version 0", "projects/my-project/secrets/s/versions/0", /VERSION is neither a number nor latest/],
    ["an alias other than latest", "projects/my-project/secrets/s/versions/newest", /VERSION is neither a number nor latest/],
    ["a query smuggled into the version", "projects/my-project/secrets/s/versions/1?alt=media", /VERSION is neither a number nor latest/],
    ["a traversal", "projects/my-project/secrets/../versions/1", /SECRET is not a secret id/],
  ])("refuses %s, naming the part", (_, name, reason) => {
    const error = caught(ConfigError, () => checkSecretVersionName(name));
    expect(error.message).toMatch(/^A secret version must be named "projects\/PROJECT\/secrets\/SECRET\/versions\/VERSION" \(VERSION a number or "latest"\), but /);
    expect(error.message).toMatch(reason);
  });

  it.each([
    [42, /got number$/],
    [null, /got null$/],
    [["projects/p"], /got an array$/],
    [undefined, /got undefined$/],
  ])("refuses a %p, naming its type", (value, reason) => {
    expect(caught(ConfigError, () => checkSecretVersionName(value)).message).toMatch(reason);
  });

  it("never repeats a refused value: a password pasted where its name belongs stays out of delivery.error", () => {
    const pasted = "S3cret-Passw0rd!";
    const error = caught(ConfigError, () => checkSecretVersionName(pasted));
    expect(error.message).not.toContain(pasted);
    expect(error.message).toContain(`a value of ${pasted.length} characters`);
    expect(caught(ConfigError, () => checkSecretVersionName(`projects/my-project/secrets/s/versions/${pasted}`)).message).not.toContain(pasted);
  });

  it("is permanent: the profile must be corrected", () => {
    expect(caught(ConfigError, () => checkSecretVersionName("x")).transient).toBe(false);
  });
});
