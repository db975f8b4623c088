import type { Firestore } from "firebase-admin/firestore";
import { composeMessage } from "../../../src/mail/compose-message";
import { LOOKUP_DEADLINE_MS } from "../../../src/shared/budget";
import { parseConfig } from "../../../src/config";
import { ValidationError } from "../../../src/shared/errors";
import { applyTemplate, renderTemplate, templateName, type TemplateDocument, createTemplateCache } from "../../../src/mail/templates";
import type { MailRequest } from "../../../src/shared/types";
import { caught } from "../../helpers/caught";

const template = (id: string, fields: Record<string, unknown>, version?: string): TemplateDocument => ({ id, fields, version });
const partial = (id: string, fields: Record<string, unknown>, version?: string): TemplateDocument =>
  template(id, { partial: true, ...fields }, version);

/** Data no JSON-through-Handlebars trick survives. */
const NASTY = `He said "hi" \\ then left\nnext line & <b>bold</b> 'quoted' {{not a tag}}`;

/** The message of the ValidationError a render throws. */
const renderError = (run: () => unknown): string => caught(ValidationError, run).message;

describe("renderTemplate: escaping", () => {
  const data = { name: `Tom & "Jerry" <script>`, url: "https://example.com/?a=1&b=2" };
  const rendered = renderTemplate(
    template("t", {
      subject: "Hi {{name}}",
      text: "Hello {{name}}, see {{url}}",
      html: '<p>{{name}}</p><a href="{{{url}}}">{{url}}</a>',
      amp: "<p>{{name}}</p>",
    }),
    [],
    data,
  );

  it("leaves subject and text unescaped", () => {
    expect(rendered.subject).toBe(`Hi Tom & "Jerry" <script>`);
    expect(rendered.text).toBe(`Hello Tom & "Jerry" <script>, see https://example.com/?a=1&b=2`);
  });

  it("HTML-escapes html and amp, and {{{ }}} opts out", () => {
    expect(rendered.html).toBe(
      '<p>Tom &amp; &quot;Jerry&quot; &lt;script&gt;</p><a href="https://example.com/?a=1&b=2">https://example.com/?a&#x3D;1&amp;b&#x3D;2</a>',
    );
    expect(rendered.amp).toBe("<p>Tom &amp; &quot;Jerry&quot; &lt;script&gt;</p>");
  });

  it("renders a missing variable in a part as empty, and leaves parts the template lacks absent", () => {
    const result = renderTemplate(template("t", { subject: "[{{missing}}]" }), [], {});
    expect(result.subject).toBe("[]");
    expect(result).not.toHaveProperty("html");
    expect(result).not.toHaveProperty("attachments");
  });

  it("does not expose prototype properties of the data", () => {
    const result = renderTemplate(template("t", { text: "[{{constructor}}{{__proto__}}{{toString}}]" }), [], {});
    expect(result.text).toBe("[]");
  });
});

describe("renderTemplate: partials", () => {
  const footer = partial("footer", { html: "<i>{{company}}</i>", text: "-- {{company}}", subject: "[{{company}}]" });

  it("includes each part of a partial in the same part of a template, with that part's escaping", () => {
    const result = renderTemplate(
      template("t", { subject: "News {{> footer}}", html: "<p>Hi</p>{{> footer}}", text: "Hi\n{{> footer}}" }),
      [footer],
      { company: "A&B" },
    );
    expect(result).toMatchObject({ subject: "News [A&B]", html: "<p>Hi</p><i>A&amp;B</i>", text: "Hi\n-- A&B" });
  });

  test("a subject that the data makes unfoldable (a word over 900 characters) is refused, naming the part", () => {
    const message = renderError(() => renderTemplate(template("welcome", { subject: "Hi {{name}}" }), [], { name: "n".repeat(901) }));
    expect(message).toBe("Could not render template 'welcome', part 'subject': the rendered subject has a word longer than 900 characters");
  });

  it("a partial without that part is not found, and the error names the template and the part", () => {
    const message = renderError(() => renderTemplate(template("welcome", { amp: "{{> footer}}" }), [footer], {}));
    expect(message).toBe("Could not render template 'welcome', part 'amp': The partial footer could not be found");
  });

  it("uses the current partials only: an edited partial is used, a removed one is gone", () => {
    const cache = createTemplateCache();
    const page = template("page", { html: "{{> footer}}" }, "1.0");
    expect(renderTemplate(page, [partial("footer", { html: "v1" }, "1.0")], {}, cache).html).toBe("v1");
    expect(renderTemplate(page, [partial("footer", { html: "v2" }, "2.0")], {}, cache).html).toBe("v2");
    expect(renderError(() => renderTemplate(page, [], {}, cache))).toContain("The partial footer could not be found");
  });

  it("an edited template is compiled again", () => {
    const cache = createTemplateCache();
    expect(renderTemplate(template("t", { text: "one" }, "1.0"), [], {}, cache).text).toBe("one");
    expect(renderTemplate(template("t", { text: "two" }, "2.0"), [], {}, cache).text).toBe("two");
  });

  it("a partial is included by its name field when it has one, as in the original", () => {
    const signature = partial("Xk3ZpQ", { name: "signature", text: "-- {{who}}" });
    expect(renderTemplate(template("t", { text: "Hi\n{{> signature}}" }), [signature], { who: "Ann" }).text).toBe("Hi\n-- Ann");
    expect(renderError(() => renderTemplate(template("t2", { text: "{{> Xk3ZpQ}}" }), [signature], {}))).toContain(
      "The partial Xk3ZpQ could not be found",
    );
  });
});

describe("templateName", () => {
  it.each<[Record<string, unknown>, string]>([
    [{ name: "welcome" }, "welcome"],
    [{ name: "emails/welcome" }, "emails/welcome"],
    [{}, "doc-id"],
    [{ name: "" }, "doc-id"],
    [{ name: 5 }, "doc-id"],
  ])("%j in document doc-id is named %j", (fields, expected) => {
    expect(templateName(template("doc-id", fields))).toBe(expected);
  });

  it("errors name the template by its name, not its id", () => {
    expect(renderError(() => renderTemplate(template("Xk3ZpQ", { name: "welcome", text: 5 }), [], {}))).toMatch(
      /^Could not render template 'welcome', part 'text'/,
    );
  });
});

describe("renderTemplate: errors name the template and the part", () => {
  it("a syntax error", () => {
    const message = renderError(() => renderTemplate(template("broken", { subject: "ok", html: "<p>{{#if x}}</p>" }), [], {}));
    expect(message).toMatch(/^Could not render template 'broken', part 'html': Parse error on line 1/);
  });

  it("a part that is not a string", () => {
    const message = renderError(() => renderTemplate(template("odd", { text: 42 }), [], {}));
    expect(message).toBe("Could not render template 'odd', part 'text': expected a string, got a number");
  });

  it("a missing variable in an attachment (attachments are strict), without echoing the data", () => {
    const message = renderError(() =>
      renderTemplate(
        template("invoice", { attachments: [{ filename: "f.txt", path: "https://files.example.com/{{orderId}}.pdf" }] }),
        [],
        { secretish: "do not echo" },
      ),
    );
    expect(message).toBe(
      `Could not render template 'invoice', part 'attachments[0].path': "orderId" is not defined in template.data (line 1, column 29)`,
    );
  });

  it("attachments that are not an array of maps", () => {
    expect(renderError(() => renderTemplate(template("a", { attachments: "x" }), [], {}))).toBe(
      "Could not render template 'a', part 'attachments': expected an array of maps, got a string",
    );
    expect(renderError(() => renderTemplate(template("a", { attachments: [7] }), [], {}))).toBe(
      "Could not render template 'a', part 'attachments[0]': expected a map, got a number",
    );
  });
});

describe("renderTemplate: attachments", () => {
  it("inserts data with quotes, backslashes, newlines and & exactly as given", () => {
    const result = renderTemplate(
      template("t", {
        attachments: [
          {
            filename: "{{name}}.txt",
            content: "Body: {{body}}",
            contentType: "text/plain",
            headers: { "X-Note": "{{note}}" },
          },
          { filename: "doc.pdf", href: "https://files.example.com/get?id={{id}}&lang={{lang}}" },
        ],
      }),
      [],
      { name: `a "quoted" \\ name`, body: NASTY, note: "x & y", id: "42", lang: "en&fr" },
    );
    expect(result.attachments).toEqual([
      {
        filename: `a "quoted" \\ name.txt`,
        content: `Body: ${NASTY}`,
        contentType: "text/plain",
        headers: { "X-Note": "x & y" },
      },
      { filename: "doc.pdf", href: "https://files.example.com/get?id=42&lang=en&fr" },
    ]);
  });

  it("keeps bytes and strings without expressions as they are", () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const result = renderTemplate(template("t", { attachments: [{ filename: "b.bin", content: bytes }] }), [], {});
    expect(result.attachments).toEqual([{ filename: "b.bin", content: bytes }]);
  });

  it("refuses a rendered location that is a local file or an internal host", () => {
    for (const location of ["{{file}}", "https://{{host}}/x"]) {
      const message = renderError(() =>
        renderTemplate(template("t", { attachments: [{ path: location }] }), [], { file: "/proc/self/environ", host: "localhost" }),
      );
      expect(message).toMatch(/^Could not render template 't', part 'attachments': Invalid field "attachments\[0\]\.path"/);
    }
  });

  it("reports unsupported attachment fields instead of passing them on", () => {
    const result = renderTemplate(template("t", { attachments: [{ content: "x", tls: "y" }] }), [], {});
    expect(result.attachments).toEqual([{ content: "x" }]);
    expect(result.ignoredFields).toEqual(["attachments[0].tls"]);
  });
});

describe("applyTemplate", () => {
  const own = { subject: "own subject", text: "own text", html: "<p>own</p>", attachments: [{ content: "own" }] };

  it("a rendered part replaces the document's, a part the template lacks keeps it", () => {
    expect(applyTemplate(own, { subject: "rendered", ignoredFields: [] })).toEqual({ ...own, subject: "rendered" });
  });

  it("an empty rendered part still replaces the document's", () => {
    expect(applyTemplate(own, { text: "", ignoredFields: [] }).text).toBe("");
  });

  it("template attachments replace the document's, even when there are none", () => {
    expect(applyTemplate(own, { attachments: [{ content: "t" }], ignoredFields: [] }).attachments).toEqual([{ content: "t" }]);
    expect(applyTemplate(own, { attachments: [], ignoredFields: [] }).attachments).toEqual([]);
  });

  it("works without a message of the document's own", () => {
    expect(applyTemplate(undefined, { html: "<p>x</p>", ignoredFields: [] })).toEqual({ html: "<p>x</p>" });
  });
});

describe("composeMessage when templates cannot be read", () => {
  const config = parseConfig({
    SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525",
    DEFAULT_FROM: "app@example.com",
    TEMPLATES_COLLECTION: "templates",
  });
  const mail: MailRequest = {
    to: ["a@example.com"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [],
    template: { name: "welcome", data: {} },
  };
  /** A Firestore whose document reads do what `get` does; nothing else is used. */
  const firestoreWhoseReads = (get: () => Promise<unknown>): Firestore =>
    ({ collection: () => ({ doc: () => ({ get }) }) }) as unknown as Firestore;

  afterEach(() => jest.useRealTimers());

  it("fails with the collection and Firestore's reason", async () => {
    const db = firestoreWhoseReads(() => Promise.reject(new Error("14 UNAVAILABLE: No connection established")));
    await expect(composeMessage(mail, config, db, createTemplateCache())).rejects.toThrow(
      "Could not load templates from 'templates': 14 UNAVAILABLE: No connection established",
    );
  });

  it("never waits longer than the lookup deadline", async () => {
    jest.useFakeTimers();
    const db = firestoreWhoseReads(() => new Promise(() => undefined));
    const composing = composeMessage(mail, config, db, createTemplateCache());
    const outcome = expect(composing).rejects.toThrow(
      `Could not load templates from 'templates': Firestore did not answer within ${LOOKUP_DEADLINE_MS / 1000} s.`,
    );
    await jest.advanceTimersByTimeAsync(LOOKUP_DEADLINE_MS);
    await outcome;
  });
});

describe("renderTemplate: localized variants", () => {
  const welcome = template(
    "welcome",
    {
      locale: "en",
      subject: "Welcome, {{name}}",
      text: "Hello {{name}}",
      html: "<p>Hello {{name}}</p>",
      localized: {
        de: { subject: "Willkommen, {{name}}", text: "Hallo {{name}}" },
        "de-AT": { subject: "Servus, {{name}}" },
        "PT-br": { subject: "Bem-vindo, {{name}}" },
      },
    },
    "1.0",
  );
  const render = (locale?: string, cache = createTemplateCache()) => renderTemplate(welcome, [], { name: "Ann" }, cache, { locale });

  it("falls back from de-CH to de, and says so", () => {
    expect(render("de-CH")).toEqual({
      subject: "Willkommen, Ann",
      text: "Hallo Ann",
      html: "<p>Hello Ann</p>", // The variant has no html: the default's.
      ignoredFields: [],
      templateLocale: "de",
    });
  });

  it("takes each part from the most specific variant that has it, then the less specific, then the default", () => {
    expect(render("de-AT")).toMatchObject({ subject: "Servus, Ann", text: "Hallo Ann", html: "<p>Hello Ann</p>", templateLocale: "de-AT" });
  });

  it("compares keys in canonical form and reports the key as written", () => {
    expect(render("pt-BR")).toMatchObject({ subject: "Bem-vindo, Ann", templateLocale: "PT-br" });
  });

  it("uses the default parts for a locale without a variant, reporting the template's own locale", () => {
    expect(render("fr")).toMatchObject({ subject: "Welcome, Ann", templateLocale: "en" });
    expect(render(undefined)).toMatchObject({ subject: "Welcome, Ann", templateLocale: "en" });
  });

  it("reports null when the default parts were used and the template names no locale", () => {
    const plain = template("plain", { subject: "Hi", localized: { de: { subject: "Hallo" } } });
    expect(renderTemplate(plain, [], {}, undefined, { locale: "fr" }).templateLocale).toBeNull();
  });

  it("reports nothing for a template without variants and a mail without a locale, as before", () => {
    expect(renderTemplate(template("old", { subject: "Hi" }), [], {})).not.toHaveProperty("templateLocale");
  });

  it("keeps each variant's compiled parts apart in the cache", () => {
    const cache = createTemplateCache();
    expect(render("de", cache).subject).toBe("Willkommen, Ann");
    expect(render("en", cache).subject).toBe("Welcome, Ann");
    expect(render("de", cache).subject).toBe("Willkommen, Ann");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a key that is not a locale", { localized: { "not a tag": { subject: "x" } } }, "part 'localized.not a tag': expected the key to be a BCP 47 language tag"],
    ["an entry that is not a map", { localized: { de: "Hallo" } }, "part 'localized.de': expected a map of parts (subject, html, text, amp), got a string"],
    ["a variant part that is not a string", { localized: { de: { subject: 5 } } }, "part 'localized.de.subject': expected a string, got a number"],
    ["a map that is not one", { localized: ["de"] }, "part 'localized': expected a map of language tags to maps of parts, got an array"],
    ["a locale that is not one", { locale: "english" + "!" }, "part 'locale': expected a BCP 47 language tag"],
  ])("%s ends in an error naming the template and the field", (_, fields, expected) => {
    const message = renderError(() => renderTemplate(template("t", { subject: "x", ...fields }), [], {}, undefined, { locale: "de" }));
    expect(message).toContain(`Could not render template 't', ${expected}`);
  });

  it("refuses more variants than its limit", () => {
    const localized = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-v${i}`, { subject: "x" }]));
    expect(renderError(() => renderTemplate(template("t", { localized }), [], {}))).toBe("Could not render template 't', part 'localized': expected at most 100 variants");
  });

  it("a variant includes partials like the default parts", () => {
    const footer = partial("footer", { text: "-- {{company}}" });
    const letter = template("letter", { text: "Hi", localized: { de: { text: "Hallo\n{{> footer}}" } } });
    expect(renderTemplate(letter, [footer], { company: "ACME" }, undefined, { locale: "de" }).text).toBe("Hallo\n-- ACME");
  });

  it("helpers format in the requested locale when a variant was found, else in the template's own", () => {
    const dated = template("dated", { helpers: true, locale: "en-US", text: "{{formatNumber n}}", localized: { de: { text: "{{formatNumber n}}" } } });
    const number = (locale: string) => renderTemplate(dated, [], { n: 1234.5 }, undefined, { locale }).text;
    expect(number("de-AT")).toMatch(/^1\s?234,5$/); // de-AT, the mail's own locale, through the de variant.
    expect(number("fr")).toBe("1,234.5"); // The default parts are English.
  });
});

describe("renderTemplate: @recipient", () => {
  const recipient = { firstName: "Ann", plan: "pro" };

  it("gives the recipient's fields as @recipient, in every part and inside blocks", () => {
    const t = template("t", { subject: "Hi {{@recipient.firstName}}", html: "{{#each items}}<i>{{@recipient.plan}}</i>{{/each}}" });
    expect(renderTemplate(t, [], { items: [1, 2] }, undefined, { recipient })).toMatchObject({ subject: "Hi Ann", html: "<i>pro</i><i>pro</i>" });
  });

  it("never shadows template.data, which keeps its own `recipient`", () => {
    const t = template("t", { text: "{{recipient}}|{{@recipient.firstName}}" });
    expect(renderTemplate(t, [], { recipient: "from data" }, undefined, { recipient }).text).toBe("from data|Ann");
  });

  it("is empty without a recipient, as before", () => {
    expect(renderTemplate(template("t", { text: "[{{@recipient.firstName}}]" }), [], {}).text).toBe("[]");
  });

  it("is usable in attachments", () => {
    const t = template("t", { attachments: [{ filename: "{{@recipient.firstName}}.txt", content: "x" }] });
    expect(renderTemplate(t, [], {}, undefined, { recipient }).attachments).toEqual([{ filename: "Ann.txt", content: "x" }]);
  });

  it("does not reach prototypes", () => {
    const t = template("t", { text: "[{{@recipient.constructor}}{{@recipient.__proto__}}{{lookup @recipient 'constructor'}}]" });
    expect(renderTemplate(t, [], {}, undefined, { recipient }).text).toBe("[]");
  });
});
