/**
 * Localized templates, template helpers and the recipient's user fields end to end: templates and users in
 * the Firestore emulator, mail rendered by processQueue, checked as received by a real SMTP server and as
 * recorded in `delivery.info`.
 */
import { Timestamp } from "firebase-admin/firestore";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";

const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-localized-templates-issue21";
/** 2026-01-01 23:30 UTC: 2 January, 00:30 in Zurich. */
const NEW_YEAR = Timestamp.fromDate(new Date("2026-01-01T23:30:00Z"));

describeWithEmulator("localized templates, helpers and user fields", () => {
  const h = mailHarness(PROJECT);

  beforeEach(async () => {
    await h.useSink({}, { TEMPLATES_COLLECTION: "templates", USERS_COLLECTION: "users", USER_TEMPLATE_FIELDS: "firstName,locale,timeZone" });
    await h.db.doc("templates/welcome").set({
      locale: "en",
      subject: "Welcome, {{name}}",
      text: "Hello {{name}}",
      localized: {
        de: { subject: "Willkommen, {{name}}", text: "Hallo {{name}}" },
        fr: { subject: "Bienvenue, {{name}}", text: "Bonjour {{name}}" },
      },
    });
  });

  afterEach(() => jest.restoreAllMocks());

  test("a de-CH mail resolves to the de variant, and delivery.info says so", async () => {
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", locale: "de-CH", template: { name: "welcome", data: { name: "Ann" } } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.templateLocale")).toBe("de");
    const mail = (await h.sink.waitForMessages(1))[0].parsed;
    expect(mail.subject).toBe("Willkommen, Ann");
    expect(mail.text?.trim()).toBe("Hallo Ann");
  });

  test("a locale without a variant gets the default, recorded as the template's own locale", async () => {
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", locale: "ja", template: { name: "welcome", data: { name: "Ann" } } });
    expect(snap.get("delivery.info.templateLocale")).toBe("en");
    expect((await h.sink.waitForMessages(1))[0].parsed.subject).toBe("Welcome, Ann");
  });

  test("a mail with a locale that is not one ends in ERROR naming the field, and sends nothing", async () => {
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", locale: "de CH", template: { name: "welcome", data: { name: "Ann" } } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain('Invalid field "locale"');
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a template reads the allowed fields of its one recipient's user document, never another", async () => {
    await h.db.doc("users/u1").set({ email: "ann@example.com", firstName: "Ann", phone: "+41 00 000 00 00", locale: "fr" });
    await h.db.doc("templates/profile").set({
      subject: "For {{@recipient.firstName}}",
      text: "[{{@recipient.firstName}}|{{@recipient.phone}}|{{@recipient.email}}]",
      localized: { fr: { subject: "Pour {{@recipient.firstName}}" } },
    });
    const snap = await h.trigger.create(h.nextPath(), { toUids: ["u1"], template: { name: "profile" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    // The user's locale, allowed by USER_TEMPLATE_FIELDS, picks the variant when the mail names none.
    expect(snap.get("delivery.info.templateLocale")).toBe("fr");
    const mail = (await h.sink.waitForMessages(1))[0].parsed;
    expect(mail.subject).toBe("Pour Ann");
    expect(mail.text?.trim()).toBe("[Ann||]");
  });

  test("a mail that names anyone beside the user gets no user field: its author could add their own address to read them", async () => {
    await h.db.doc("users/u1").set({ email: "ann@example.com", firstName: "Ann", locale: "fr" });
    await h.db.doc("templates/profile").set({ subject: "Hi", text: "[{{@recipient.firstName}}]", localized: { fr: { text: "Salut" } } });
    for (const extra of [{ to: "curious@example.com" }, { cc: "curious@example.com" }, { bcc: "curious@example.com" }]) {
      const snap = await h.trigger.create(h.nextPath(), { toUids: ["u1"], ...extra, template: { name: "profile" } });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(snap.get("delivery.info.templateLocale")).toBeNull(); // Not even the user's locale.
    }
    const texts = (await h.sink.waitForMessages(3)).map((m) => m.parsed.text?.trim());
    expect(texts).toEqual(["[]", "[]", "[]"]);
  });

  test("with several uids no user's fields are given: each would see the others'", async () => {
    await h.db.doc("users/u1").set({ email: "ann@example.com", firstName: "Ann" });
    await h.db.doc("users/u2").set({ email: "bob@example.com", firstName: "Bob" });
    await h.db.doc("templates/profile").set({ subject: "Hi", text: "[{{@recipient.firstName}}]" });
    const snap = await h.trigger.create(h.nextPath(), { toUids: ["u1", "u2"], template: { name: "profile" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect((await h.sink.waitForMessages(1))[0].parsed.text?.trim()).toBe("[]");
  });

  test("a date rendered in the mail's time zone and locale", async () => {
    await h.db.doc("templates/order").set({
      helpers: true,
      subject: "Order {{id}}",
      text: 'Placed {{formatDate placedAt dateStyle="long" timeStyle="short"}}; total {{formatNumber total style="currency" currency="CHF"}}',
    });
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      locale: "de-CH",
      timeZone: "Europe/Zurich",
      template: { name: "order", data: { id: 7, placedAt: NEW_YEAR, total: 1234.5 } },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.templateLocale")).toBeNull(); // No variants, no template locale: the default parts.
    const text = (await h.sink.waitForMessages(1))[0].parsed.text?.trim();
    expect(text).toMatch(/^Placed 2\. Januar 2026 um 00:30; total CHF\s1['’]234\.50$/);
  });

  test("the user's time zone applies when the mail names none; a user's invalid one is skipped with a warning", async () => {
    await h.db.doc("templates/order").set({ helpers: true, subject: "Order", text: '{{formatDate at timeStyle="short"}}' });
    await h.db.doc("users/tokyo").set({ email: "t@example.com", timeZone: "Asia/Tokyo" });
    await h.db.doc("users/broken").set({ email: "b@example.com", timeZone: "Mars/Olympus" });
    const warn = jest.spyOn(functionsLogger, "warn");
    const send = (uid: string) => h.trigger.create(h.nextPath(), { toUids: [uid], template: { name: "order", data: { at: NEW_YEAR } } });

    expect((await send("tokyo")).get("delivery.state")).toBe("SUCCESS");
    expect((await send("broken")).get("delivery.state")).toBe("SUCCESS");
    const texts = (await h.sink.waitForMessages(2)).map((m) => m.parsed.text?.trim());
    expect(texts).toEqual(["8:30 AM", "11:30 PM"]);
    const warning = warn.mock.calls.find(([line]) => String(line).includes("timeZone"));
    expect(warning?.[1]).toMatchObject({ field: "timeZone" });
    expect(JSON.stringify(warn.mock.calls)).not.toContain("Mars");
  });

  test("a helper given a hostile option ends in ERROR naming the template and the helper", async () => {
    await h.db.doc("templates/digits").set({ helpers: true, subject: "x", text: "{{formatNumber n minimumIntegerDigits=1000000000}}" });
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", template: { name: "digits", data: { n: 1 } } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe(
      "Could not render template 'digits', part 'text': helper 'formatNumber': option 'minimumIntegerDigits' must be a whole number from 1 to 21",
    );
    expect(h.sink.messages).toHaveLength(0);
  });

  test("without USER_TEMPLATE_FIELDS a template gets no user field, and the user's locale is not used", async () => {
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${h.sink.port}`, DEFAULT_FROM, TEMPLATES_COLLECTION: "templates", USERS_COLLECTION: "users" });
    await h.db.doc("users/u1").set({ email: "ann@example.com", firstName: "Ann", locale: "de" });
    await h.db.doc("templates/profile").set({ subject: "Hi", text: "[{{@recipient.firstName}}]", localized: { de: { text: "Hallo" } } });
    const snap = await h.trigger.create(h.nextPath(), { toUids: ["u1"], template: { name: "profile" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.templateLocale")).toBeNull();
    expect((await h.sink.waitForMessages(1))[0].parsed.text?.trim()).toBe("[]");
  });
});
