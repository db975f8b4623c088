import { generateKeyPairSync } from "node:crypto";
import { parseConfig, parseEndpointConfig } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { redact } from "../../../src/shared/logs";

type Env = Record<string, string | undefined>;

const MINIMAL: Env = { SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465", DEFAULT_FROM: "noreply@example.com" };
const P256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "der", type: "spki" }).toString("base64");
const P384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({ format: "der", type: "spki" }).toString("base64");
const UNSUBSCRIBE_KEY = "k".repeat(40);
const PLATFORM: Env = { LOCATION: "europe-west1", PROJECT_ID: "my-app", EXT_INSTANCE_ID: "firestore-send-email" };

/** parseConfig on top of a minimal valid configuration. */
const parse = (env: Env) => () => parseConfig({ ...MINIMAL, ...env });

describe("delivery status params", () => {
  test("a full configuration", () => {
    const config = parseConfig({
      ...MINIMAL,
      ...PLATFORM,
      SENDGRID_WEBHOOK_PUBLIC_KEY: P256,
      TRACKING_SIGNING_KEY: "t".repeat(32),
      MAILGUN_WEBHOOK_SIGNING_KEY: "mg-key",
      POSTMARK_WEBHOOK_USERNAME: "hooks",
      POSTMARK_WEBHOOK_PASSWORD: "p".repeat(20),
      TRACK_OPENS_AND_CLICKS: "true",
      EVENT_HISTORY: "true",
      SUPPRESSION_COLLECTION: "suppressed",
      UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY,
      UNSUBSCRIBE_DEFAULT: "true",
      UNSUBSCRIBE_MAILTO: "unsubscribe@example.com",
    });
    expect(config.webhooks).toMatchObject({
      mailgunSigningKey: "mg-key",
      postmarkCredentials: { username: "hooks", password: "p".repeat(20) },
      trackOpensAndClicks: true,
      eventHistory: true,
      suppressionCollection: "suppressed",
      unsubscribeSigningKey: UNSUBSCRIBE_KEY,
      trackingSigningKey: "t".repeat(32),
      tokenCollection: "ext-firestore-send-email-webhook-tokens",
    });
    expect(config.webhooks.sendGridPublicKey?.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(config.unsubscribe).toEqual({
      signingKey: UNSUBSCRIBE_KEY,
      endpointUrl: "https://europe-west1-my-app.cloudfunctions.net/ext-firestore-send-email-webhooks",
      mailto: "unsubscribe@example.com",
      byDefault: true,
    });
  });

  test("WEBHOOK_URL replaces the derived URL; loopback http is allowed for the emulator", () => {
    const base = { ...MINIMAL, SUPPRESSION_COLLECTION: "s", UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY };
    expect(parseConfig({ ...base, WEBHOOK_URL: "https://mail.example.com/hooks/" }).unsubscribe?.endpointUrl).toBe("https://mail.example.com/hooks");
    expect(parseConfig({ ...base, WEBHOOK_URL: "http://127.0.0.1:5001/demo/us-central1/ext-x-webhooks" }).unsubscribe?.endpointUrl).toBe(
      "http://127.0.0.1:5001/demo/us-central1/ext-x-webhooks",
    );
  });

  test.each<[string, Env, string]>([
    ["a key that is not P-256", { SENDGRID_WEBHOOK_PUBLIC_KEY: P384 }, "SENDGRID_WEBHOOK_PUBLIC_KEY must be the verification key SendGrid shows"],
    ["a key that is not base64 DER", { SENDGRID_WEBHOOK_PUBLIC_KEY: "not-a-key" }, "got 9 characters that are not one"],
    ["half the Postmark credentials", { POSTMARK_WEBHOOK_USERNAME: "hooks" }, "POSTMARK_WEBHOOK_USERNAME and POSTMARK_WEBHOOK_PASSWORD must be set together"],
    ["a short Postmark password", { POSTMARK_WEBHOOK_USERNAME: "hooks", POSTMARK_WEBHOOK_PASSWORD: "short-password" }, "POSTMARK_WEBHOOK_PASSWORD must be at least 16 characters, got 14"],
    ["a yes/no param with another value", { EVENT_HISTORY: "yes" }, 'EVENT_HISTORY must be "true" or "false", got "yes"'],
    ["a suppression collection that is the mail collection", { SUPPRESSION_COLLECTION: "mail" }, "SUPPRESSION_COLLECTION must differ from MAIL_COLLECTION"],
    ["a bad suppression path", { SUPPRESSION_COLLECTION: "a/b" }, "SUPPRESSION_COLLECTION must be a collection path"],
    ["an unsubscribe key without suppression", { ...PLATFORM, UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY }, "UNSUBSCRIBE_SIGNING_KEY needs SUPPRESSION_COLLECTION"],
    ["a short unsubscribe key", { ...PLATFORM, SUPPRESSION_COLLECTION: "s", UNSUBSCRIBE_SIGNING_KEY: "short-key" }, "UNSUBSCRIBE_SIGNING_KEY must be at least 32 characters"],
    ["UNSUBSCRIBE_DEFAULT without a key", { UNSUBSCRIBE_DEFAULT: "true" }, "UNSUBSCRIBE_DEFAULT needs UNSUBSCRIBE_SIGNING_KEY"],
    ["no URL to build links with", { SUPPRESSION_COLLECTION: "s", UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY }, "WEBHOOK_URL is required for unsubscribe links"],
    ["a plain-http URL", { SUPPRESSION_COLLECTION: "s", UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY, WEBHOOK_URL: "http://example.com/x" }, "WEBHOOK_URL must be the https:// URL"],
    ["a mailto that is not an address", { UNSUBSCRIBE_MAILTO: "nobody" }, 'UNSUBSCRIBE_MAILTO must be an email address, got "nobody"'],
    ["SendGrid's webhook without a tracking key", { SENDGRID_WEBHOOK_PUBLIC_KEY: P256 }, "SENDGRID_WEBHOOK_PUBLIC_KEY needs TRACKING_SIGNING_KEY"],
    ["a short tracking key", { TRACKING_SIGNING_KEY: "short-key" }, "TRACKING_SIGNING_KEY must be at least 32 characters"],
  ])("refuses %s, naming the param", (_, env, expected) => {
    expect(parse(env)).toThrow(ConfigError);
    expect(parse(env)).toThrow(expected);
  });

  test("the secrets are never quoted and are redacted from logs once parsed", () => {
    const secrets = { MAILGUN_WEBHOOK_SIGNING_KEY: "mg-SECRET-4471", POSTMARK_WEBHOOK_PASSWORD: "pm-SECRET-9910", UNSUBSCRIBE_SIGNING_KEY: `us-SECRET-${"x".repeat(30)}` };
    const refused = parse({ ...secrets, POSTMARK_WEBHOOK_USERNAME: "hooks", SUPPRESSION_COLLECTION: "a/b" });
    expect(refused).toThrow("SUPPRESSION_COLLECTION must be a collection path");
    for (const value of Object.values(secrets)) {
      expect(refused).not.toThrow(value);
      expect(redact(`x ${value} y`)).toBe("x [REDACTED] y");
    }
  });

  test("the endpoint's config needs none of the SMTP params", () => {
    const endpoint = parseEndpointConfig({ MAILGUN_WEBHOOK_SIGNING_KEY: "mg-key", MAIL_COLLECTION: "tenants/{t}/mail", DATABASE: "mail-db" });
    expect(endpoint).toMatchObject({ database: "mail-db", mailCollection: "tenants/{t}/mail", webhooks: { mailgunSigningKey: "mg-key" } });
    expect(() => parseEndpointConfig({ EVENT_HISTORY: "maybe" })).toThrow('EVENT_HISTORY must be "true" or "false"');
  });
});
