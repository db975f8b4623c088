import { fillPattern, matchPattern, wildcardNames } from "../../../src/shared/path-pattern";

describe("path patterns", () => {
  it("reads each wildcard's value from a matching collection path", () => {
    expect(matchPattern("tenants/{tenant}/mail", "tenants/acme/mail")).toEqual({ tenant: "acme" });
    expect(matchPattern("orgs/{org}/teams/{team}/mail", "orgs/o1/teams/t2/mail")).toEqual({ org: "o1", team: "t2" });
    expect(matchPattern("mail", "mail")).toEqual({});
  });

  it("refuses another depth or another fixed segment", () => {
    expect(matchPattern("tenants/{tenant}/mail", "teams/acme/mail")).toBeUndefined();
    expect(matchPattern("tenants/{tenant}/mail", "tenants/acme/x/y/mail")).toBeUndefined();
    expect(matchPattern("mail", "tenants/acme/mail")).toBeUndefined();
  });

  it("fills a pattern and throws for a wildcard it has no value for", () => {
    expect(fillPattern("tenants/{tenant}/templates", { tenant: "acme" })).toBe("tenants/acme/templates");
    expect(fillPattern("templates", { tenant: "acme" })).toBe("templates");
    expect(() => fillPattern("orgs/{org}/templates", { tenant: "acme" })).toThrow("{org}");
  });

  it("lists wildcard names in order", () => {
    expect(wildcardNames("orgs/{org}/teams/{team}/mail")).toEqual(["org", "team"]);
    expect(wildcardNames("mail")).toEqual([]);
  });
});
