/**
 * What an instance's runtime keeps while warm (handlers/runtime.ts): the
 * params are parsed once per runtime, and a failed parse is never kept.
 */
import { createRuntime } from "../../../src/handlers/runtime";
import { ConfigError } from "../../../src/shared/errors";

const MINIMAL = {
  SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465",
  SMTP_PASSWORD: "secret",
  DEFAULT_FROM: "noreply@example.com",
  MAIL_COLLECTION: "mail",
};

describe("the runtime's config", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("parses once and caches the result; a new runtime (a new instance) reads the environment again", () => {
    Object.assign(process.env, MINIMAL);
    const runtime = createRuntime();
    const first = runtime.config();
    process.env.MAIL_COLLECTION = "changed";
    expect(runtime.config()).toBe(first);
    expect(createRuntime().config().mailCollection).toBe("changed");
  });

  it("does not cache a failure: fixing the environment and calling again works", () => {
    Object.assign(process.env, MINIMAL, { DEFAULT_FROM: "" });
    const runtime = createRuntime();
    expect(() => runtime.config()).toThrow(ConfigError);
    expect(() => runtime.config()).toThrow(/DEFAULT_FROM/);
    process.env.DEFAULT_FROM = "noreply@example.com";
    expect(runtime.config().defaultFrom).toBe("noreply@example.com");
  });
});
