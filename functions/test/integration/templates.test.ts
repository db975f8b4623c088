/**
 * Templates end to end: template and partial documents in the Firestore
 * emulator, mail rendered by processQueue, checked as received by a real
 * SMTP server.
 */
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM as FROM, mailHarness } from "../helpers/mail-harness";

const PROJECT = "demo-templates-issue3";

describeWithEmulator("templates", () => {
  const h = mailHarness(PROJECT);
  const { nextPath } = h;

  beforeEach(async () => {
    await h.useSink({}, { TEMPLATES_COLLECTION: "templates" });
  });


  const send = (template: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    h.trigger.create(nextPath(), { to: "reader@example.com", template, ...extra });

  test("a template with a partial: html escaped, {{{ }}} raw, subject and text as written", async () => {
    await h.db.doc("templates/footer").set({
      partial: true,
      html: "<footer>{{company}}</footer>",
      text: "-- {{company}}",
    });
    await h.db.doc("templates/welcome").set({
      subject: "Welcome, {{name}}!",
      html: '<h1>Hello {{name}}</h1><a href="{{{link}}}">Start</a>{{> footer}}',
      text: "Hello {{name}}\n{{link}}\n{{> footer}}",
    });
    const name = `Tom & "Jerry" <b>`;
    const link = "https://app.example.com/start?user=7&step=1";

    const snap = await send({ name: "welcome", data: { name, link, company: "Acme & Sons" } });

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const mail = (await h.sink.waitForMessages(1))[0].parsed;
    expect(mail.subject).toBe(`Welcome, ${name}!`);
    expect(mail.html).toContain("<h1>Hello Tom &amp; &quot;Jerry&quot; &lt;b&gt;</h1>");
    expect(mail.html).toContain(`<a href="${link}">Start</a>`);
    expect(mail.html).toContain("<footer>Acme &amp; Sons</footer>");
    expect(mail.text?.trim()).toBe(`Hello ${name}\n${link}\n-- Acme & Sons`);
  });

  test("rendered parts replace the document's; parts the template lacks keep the document's", async () => {
    await h.db.doc("templates/subject-only").set({ subject: "From the template" });
    const snap = await send(
      { name: "subject-only" },
      { message: { subject: "From the document", text: "Document text" } },
    );
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const mail = (await h.sink.waitForMessages(1))[0].parsed;
    expect(mail.subject).toBe("From the template");
    expect(mail.text?.trim()).toBe("Document text");
  });

  test("a template edited between two sends: the second mail uses the edit", async () => {
    await h.db.doc("templates/news").set({ subject: "Issue {{n}}", text: "First edition" });
    expect((await send({ name: "news", data: { n: 1 } })).get("delivery.state")).toBe("SUCCESS");

    await h.db.doc("templates/news").set({ subject: "Issue {{n}} (revised)", text: "Second edition" });
    expect((await send({ name: "news", data: { n: 2 } })).get("delivery.state")).toBe("SUCCESS");

    const mails = await h.sink.waitForMessages(2);
    expect(mails.map((m) => m.parsed.subject)).toEqual(["Issue 1", "Issue 2 (revised)"]);
    expect(mails.map((m) => m.parsed.text?.trim())).toEqual(["First edition", "Second edition"]);
  });

  test("a deleted template is no longer used: the mail ends in ERROR", async () => {
    await h.db.doc("templates/promo").set({ subject: "Sale", text: "50% off" });
    expect((await send({ name: "promo" })).get("delivery.state")).toBe("SUCCESS");

    await h.db.doc("templates/promo").delete();
    const snap = await send({ name: "promo" });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Tried to render non-existent template 'promo'");
    expect(h.sink.messages).toHaveLength(1);
  });

  test("a deleted partial is no longer used: the error names the template and the part", async () => {
    await h.db.doc("templates/sig").set({ partial: true, text: "Regards" });
    await h.db.doc("templates/letter").set({ subject: "Letter", text: "Body\n{{> sig}}" });
    expect((await send({ name: "letter" })).get("delivery.state")).toBe("SUCCESS");
    expect((await h.sink.waitForMessages(1))[0].parsed.text?.trim()).toBe("Body\nRegards");

    await h.db.doc("templates/sig").delete();
    const snap = await send({ name: "letter" });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Could not render template 'letter', part 'text': The partial sig could not be found");
    expect(h.sink.messages).toHaveLength(1);
  });

  test("a missing template ends in ERROR with the original's text, and sends nothing", async () => {
    const snap = await send({ name: "no-such-template", data: { x: 1 } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toBe("Tried to render non-existent template 'no-such-template'");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a partial is not a template", async () => {
    await h.db.doc("templates/header").set({ partial: true, subject: "Header" });
    const snap = await send({ name: "header" });
    expect(snap.get("delivery.error")).toBe("Tried to render non-existent template 'header'");
  });

  test("a template field without TEMPLATES_COLLECTION ends in ERROR instead of sending without it", async () => {
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${h.sink.port}`, DEFAULT_FROM: FROM });
    await h.db.doc("templates/welcome").set({ subject: "Welcome" });
    const snap = await send({ name: "welcome" }, { message: { subject: "fallback", text: "x" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("templates are not configured");
    expect(snap.get("delivery.error")).toContain("TEMPLATES_COLLECTION");
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a Handlebars syntax error names the template and the part", async () => {
    await h.db.doc("templates/broken").set({ subject: "Fine", html: "<p>{{#each items}}{{this}}</p>" });
    const snap = await send({ name: "broken", data: { items: [1] } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toMatch(/^Could not render template 'broken', part 'html': Parse error/);
    expect(h.sink.messages).toHaveLength(0);
  });

  test("template attachments survive data with quotes, backslashes, newlines and &, and replace the message's", async () => {
    await h.db.doc("templates/receipt").set({
      subject: "Receipt",
      text: "See attached.",
      attachments: [
        { filename: "{{customer}}.txt", content: "Customer: {{customer}}\nNote: {{note}}" },
        { filename: "terms.txt", content: "Terms & conditions" },
      ],
    });
    const customer = `O'Brien "Jr." & Co`;
    const note = 'line one\nline two \\ with "quotes" and a backslash at the end \\';

    const snap = await send(
      { name: "receipt", data: { customer, note } },
      { message: { attachments: [{ filename: "replaced.txt", content: "from the document" }] } },
    );

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const attachments = (await h.sink.waitForMessages(1))[0].parsed.attachments;
    expect(attachments.map((a) => a.filename)).toEqual([`${customer}.txt`, "terms.txt"]);
    expect(attachments[0].content.toString("utf8")).toBe(`Customer: ${customer}\nNote: ${note}`);
    expect(attachments[1].content.toString("utf8")).toBe("Terms & conditions");
  });

  test("a missing variable in a template attachment names the template and the part", async () => {
    await h.db.doc("templates/invoice").set({
      subject: "Invoice",
      attachments: [{ filename: "invoice.pdf", path: "https://files.example.com/invoices/{{invoiceId}}.pdf" }],
    });
    const snap = await send({ name: "invoice", data: {} });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toMatch(
      /^Could not render template 'invoice', part 'attachments\[0\]\.path': "invoiceId" is not defined in template\.data/,
    );
    expect(h.sink.messages).toHaveLength(0);
  });

  test("a template attachment rendered to a local file is refused", async () => {
    await h.db.doc("templates/sneaky").set({ subject: "x", attachments: [{ filename: "env", path: "{{file}}" }] });
    const snap = await send({ name: "sneaky", data: { file: "/proc/self/environ" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain('Invalid field "attachments[0].path"');
    expect(h.sink.messages).toHaveLength(0);
  });
});
