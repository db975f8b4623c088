import { parseConfig } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const BASE = { SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525", DEFAULT_FROM: "a@example.com" };

describe("SENDER_PROFILES_COLLECTION", () => {
  it("is off by default", () => {
    expect(parseConfig(BASE).senderProfiles).toBeUndefined();
  });

  it("names the tenant by MAIL_COLLECTION's one wildcard", () => {
    const config = parseConfig({ ...BASE, MAIL_COLLECTION: "tenants/{tenant}/mail", SENDER_PROFILES_COLLECTION: "senderProfiles" });
    expect(config.senderProfiles).toEqual({ collection: "senderProfiles", tenantWildcard: "tenant" });
  });

  it.each([
    [{ MAIL_COLLECTION: "mail" }, "needs a MAIL_COLLECTION with exactly one wildcard"],
    [{ MAIL_COLLECTION: "orgs/{org}/teams/{team}/mail" }, "exactly one wildcard"],
    [{ MAIL_COLLECTION: "tenants/{tenant}/mail", SENDER_PROFILES_COLLECTION: "tenants/{tenant}/profiles" }, "must be a fixed collection path"],
    [{ MAIL_COLLECTION: "tenants/{tenant}/mail", SUPPRESSION_COLLECTION: "suppression" }, "SUPPRESSION_COLLECTION is one list for every tenant"],
  ])("refuses %j", (params, text) => {
    const error = caught(ConfigError, () => parseConfig({ ...BASE, SENDER_PROFILES_COLLECTION: "senderProfiles", ...params }));
    expect(error.message).toContain(text);
  });

  it("shares one suppression list only when SUPPRESSION_SCOPE says global", () => {
    const params = { ...BASE, MAIL_COLLECTION: "tenants/{tenant}/mail", SENDER_PROFILES_COLLECTION: "senderProfiles", SUPPRESSION_COLLECTION: "suppression" };
    expect(parseConfig({ ...params, SUPPRESSION_SCOPE: "global" }).webhooks.suppressionCollection).toBe("suppression");
    expect(parseConfig({ ...params, SUPPRESSION_COLLECTION: "tenants/{tenant}/suppression" }).webhooks.suppressionCollection).toBe("tenants/{tenant}/suppression");
  });
});

describe("collection params with wildcards", () => {
  it("may use MAIL_COLLECTION's wildcards only", () => {
    expect(parseConfig({ ...BASE, MAIL_COLLECTION: "tenants/{tenant}/mail", TEMPLATES_COLLECTION: "tenants/{tenant}/templates" }).templatesCollection).toBe("tenants/{tenant}/templates");
    const error = caught(ConfigError, () => parseConfig({ ...BASE, MAIL_COLLECTION: "tenants/{tenant}/mail", USERS_COLLECTION: "orgs/{org}/users" }));
    expect(error.message).toContain("USERS_COLLECTION may only use MAIL_COLLECTION's wildcards ({tenant}), got {org}");
  });
});
