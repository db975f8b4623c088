/**
 * The template helper set, rendered through renderTemplate as a template with `helpers: true` would be: each
 * helper's output, its checks, and what hostile data or options cannot make it do.
 */
import { Timestamp } from "firebase-admin/firestore";
import { createTemplateCache, renderTemplate, type RenderOptions, type TemplateDocument } from "../../../src/mail/templates";
import { HELPER_NAMES } from "../../../src/mail/template-helpers";
import { TEMPLATE_LIMITS } from "../../../src/mail/template-limits";
import { ValidationError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const doc = (fields: Record<string, unknown>): TemplateDocument => ({ id: "t", fields: { helpers: true, ...fields } });
const text = (source: string, data: Record<string, unknown> = {}, options: RenderOptions = {}): string | undefined =>
  renderTemplate(doc({ text: source }), [], data, undefined, options).text;
const html = (source: string, data: Record<string, unknown> = {}): string | undefined => renderTemplate(doc({ html: source }), [], data).html;
const failure = (source: string, data: Record<string, unknown> = {}, options: RenderOptions = {}): string =>
  caught(ValidationError, () => text(source, data, options)).message;

/** 2026-01-01 23:30 UTC: already 2 January in Zurich, still 1 January in New York. */
const NEW_YEAR = new Date("2026-01-01T23:30:00Z");

describe("the set is opt-in per template", () => {
  it("a template without `helpers: true` reads data keys named like helpers, as before", () => {
    const data = Object.fromEntries(HELPER_NAMES.map((name) => [name, `data-${name}`]));
    const source = HELPER_NAMES.map((name) => `{{${name}}}`).join(",");
    const rendered = renderTemplate({ id: "old", fields: { text: source } }, [], data).text;
    expect(rendered).toBe(HELPER_NAMES.map((name) => `data-${name}`).join(","));
  });

  it("a helper is missing without it", () => {
    const message = caught(ValidationError, () => renderTemplate({ id: "old", fields: { text: "{{upper name}}" } }, [], { name: "x" })).message;
    expect(message).toBe("Could not render template 'old', part 'text': Missing helper: \"upper\"");
  });

  it("`helpers` must be true or false", () => {
    const message = caught(ValidationError, () => renderTemplate({ id: "t", fields: { helpers: "yes", text: "x" } }, [], {})).message;
    expect(message).toBe("Could not render template 't', part 'helpers': expected true or false, got a string");
  });

  it("partials included by such a template use them too; the same partials under a plain template do not", () => {
    const footer: TemplateDocument = { id: "footer", fields: { partial: true, text: "{{upper company}}" }, version: "1" };
    const cache = createTemplateCache(); // Shared, as between mails: the two must not share environments.
    const withHelpers = renderTemplate({ id: "a", fields: { helpers: true, text: "{{> footer}}" }, version: "1" }, [footer], { company: "acme" }, cache);
    expect(withHelpers.text).toBe("ACME");
    const plain = () => renderTemplate({ id: "b", fields: { text: "{{> footer}}" }, version: "1" }, [footer], { company: "acme" }, cache);
    expect(caught(ValidationError, plain).message).toContain('Missing helper: "upper"');
  });

  it("is not registered on the global Handlebars", () => {
    text("{{upper 'x'}}");
    const global = require("handlebars") as typeof import("handlebars");
    expect(Object.keys(global.helpers)).not.toEqual(expect.arrayContaining(["upper"]));
  });
});

describe("formatDate", () => {
  const at = { at: Timestamp.fromDate(NEW_YEAR) };

  it("formats a Firestore timestamp in the mail's locale and time zone", () => {
    expect(text("{{formatDate at}}", at, { locale: "de-CH", timeZone: "Europe/Zurich" })).toBe("02.01.2026");
    expect(text("{{formatDate at}}", at, { locale: "en-US", timeZone: "America/New_York" })).toBe("Jan 1, 2026");
  });

  it("defaults to en-US and UTC", () => {
    expect(text('{{formatDate at dateStyle="long" timeStyle="short"}}', at)).toBe("January 1, 2026 at 11:30 PM");
  });

  it("takes Intl's style and field options", () => {
    const options = { locale: "de-CH", timeZone: "Europe/Zurich" };
    expect(text('{{formatDate at dateStyle="full" timeStyle="short"}}', at, options)).toBe("Freitag, 2. Januar 2026 um 00:30");
    expect(text('{{formatDate at weekday="long" hour="2-digit" minute="2-digit"}}', at, options)).toBe("Freitag, 00:30");
    expect(text('{{formatDate at timeStyle="short" timeZone="Asia/Tokyo"}}', at, options)).toBe("08:30");
    expect(text('{{formatDate at dateStyle="short" locale="fr"}}', at, options)).toBe("02/01/2026");
  });

  it("takes a Date, milliseconds and an ISO string", () => {
    for (const value of [NEW_YEAR, NEW_YEAR.getTime(), NEW_YEAR.toISOString()]) expect(text('{{formatDate at dateStyle="short"}}', { at: value })).toBe("1/1/26");
  });

  it("renders a missing date as nothing, as Handlebars renders a missing value", () => {
    expect(text("[{{formatDate missing}}]")).toBe("[]");
  });

  it("refuses what is not a date, without repeating it", () => {
    expect(failure("{{formatDate at}}", { at: "my secret note" })).toBe(
      "Could not render template 't', part 'text': helper 'formatDate': expected a timestamp, a date string or milliseconds since 1970, got a string",
    );
    expect(failure("{{formatDate at}}", { at: { seconds: 1 } })).toContain("got a map");
  });

  it.each([
    ['dateStyle="huge"', "option 'dateStyle' must be one of \"full\", \"long\", \"medium\", \"short\""],
    ["hour12=1", "option 'hour12' must be true or false"],
    ['timeZone="Mars/Olympus"', "option 'timeZone' must be an IANA time zone"],
    ['locale="not a locale"', "option 'locale' must be a BCP 47 language tag"],
    ['fractionalSecondDigits=3', "unknown option 'fractionalSecondDigits'; it takes dateStyle, timeStyle"],
    ['constructor="x"', "unknown option 'constructor'"],
  ])("refuses the option %s", (option, reason) => {
    expect(failure(`{{formatDate at ${option}}}`, at)).toContain(`helper 'formatDate': ${reason}`);
  });

  it("reports Intl's refusal of a combination, naming the helper", () => {
    expect(failure('{{formatDate at dateStyle="long" year="numeric"}}', at)).toMatch(/^Could not render template 't', part 'text': helper 'formatDate': /);
  });
});

describe("formatNumber", () => {
  it("formats in the mail's locale", () => {
    expect(text("{{formatNumber n}}", { n: 1234567.5 }, { locale: "de-CH" })).toMatch(/^1['’]234['’]567\.5$/); // ICU versions differ in the apostrophe.
    expect(text("{{formatNumber n}}", { n: 1234567.5 }, { locale: "de" })).toBe("1.234.567,5");
    expect(text("{{formatNumber n}}", { n: 1234567.5 })).toBe("1,234,567.5");
  });

  it("takes currency, percent, unit and digit options", () => {
    expect(text('{{formatNumber n style="currency" currency="EUR"}}', { n: 12.5 }, { locale: "de-DE" })).toBe("12,50\u00a0€");
    expect(text('{{formatNumber n style="percent"}}', { n: 0.256 })).toBe("26%");
    expect(text('{{formatNumber n style="unit" unit="kilometer" unitDisplay="long"}}', { n: 3 })).toBe("3 kilometers");
    expect(text("{{formatNumber n minimumFractionDigits=2 maximumFractionDigits=2}}", { n: 3 })).toBe("3.00");
    expect(text("{{formatNumber n minimumIntegerDigits=3 useGrouping=false}}", { n: 7 })).toBe("007");
  });

  it("takes a numeric string and renders a missing number as nothing", () => {
    expect(text("{{formatNumber n}}", { n: "42.5" })).toBe("42.5");
    expect(text("[{{formatNumber n}}]")).toBe("[]");
  });

  it.each([
    ["minimumIntegerDigits=1000000000", "option 'minimumIntegerDigits' must be a whole number from 1 to 21"],
    ["maximumFractionDigits=21", "option 'maximumFractionDigits' must be a whole number from 0 to 20"],
    ["minimumFractionDigits=-1", "option 'minimumFractionDigits' must be a whole number from 0 to 20"],
    ["minimumFractionDigits=1.5", "option 'minimumFractionDigits' must be a whole number from 0 to 20"],
    ['minimumFractionDigits="2"', "option 'minimumFractionDigits' must be a whole number from 0 to 20"],
    ['currency="EURO"', "option 'currency' must be an ISO 4217 currency code"],
    ['style="currency"', "helper 'formatNumber': "], // Intl: a currency style needs a currency.
    ['roundingIncrement=5000', "unknown option 'roundingIncrement'"],
  ])("refuses %s", (option, reason) => {
    expect(failure(`{{formatNumber n ${option}}}`, { n: 1 })).toContain(reason);
  });

  it.each([[Number.NaN], ["12abc"], [[1]], [true]])("refuses %p, which is not a number", (n) => {
    expect(failure("{{formatNumber n}}", { n })).toMatch(/helper 'formatNumber': expected a number, got /);
  });
});

describe("comparisons", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["eq a b", { a: "x", b: "x" }, "yes"],
    ["eq a b", { a: 1, b: "1" }, "no"],
    ["ne a b", { a: 1, b: 2 }, "yes"],
    ["lt a b", { a: 1, b: 2 }, "yes"],
    ["lt a b", { a: 2, b: 2 }, "no"],
    ["lte a b", { a: 2, b: 2 }, "yes"],
    ["gt a b", { a: "b", b: "a" }, "yes"],
    ["gte a b", { a: 1, b: 2 }, "no"],
    ["gt a b", { a: Timestamp.fromMillis(2000), b: new Date(1000) }, "yes"],
    ["gt a b", { b: 1 }, "no"],
    ["and a b c", { a: 1, b: "x", c: true }, "yes"],
    ["and a b", { a: 1, b: [] }, "no"],
    ["or a b", { a: 0, b: "" }, "no"],
    ["or a b", { a: 0, b: [1] }, "yes"],
    ["not a", { a: [] }, "yes"],
    ["not a", { a: "x" }, "no"],
  ];
  it.each(cases)("{{#if (%s)}} with %p is %s", (expression, data, expected) => {
    expect(text(`{{#if (${expression})}}yes{{else}}no{{/if}}`, data)).toBe(expected);
  });

  it("refuses to order a number against a string", () => {
    expect(failure("{{#if (lt a b)}}x{{/if}}", { a: 1, b: "2" })).toBe(
      "Could not render template 't', part 'text': helper 'lt': expected two numbers, two strings or two dates, got a number and a string",
    );
  });

  it("counts arguments", () => {
    expect(failure("{{#if (eq a)}}x{{/if}}", { a: 1 })).toContain("helper 'eq': expected 2 arguments, got 1");
    expect(failure("{{#if (and a)}}x{{/if}}", { a: 1 })).toContain("helper 'and': expected at least 2 arguments, got 1");
  });

  it("is not a block helper", () => {
    expect(failure("{{#eq a 1}}x{{/eq}}", { a: 1 })).toContain("helper 'eq': is not a block helper");
  });
});

describe("default, upper, lower", () => {
  it("default keeps a value and replaces a missing, null or empty one", () => {
    expect(text('{{default name "friend"}}', { name: "Ann" })).toBe("Ann");
    expect(text('{{default name "friend"}}|{{default nil "friend"}}|{{default empty "friend"}}', { nil: null, empty: "" })).toBe("friend|friend|friend");
    expect(text('{{default n "none"}}', { n: 0 })).toBe("0");
  });

  it("upper and lower follow the mail's locale", () => {
    expect(text("{{upper name}}", { name: "istanbul" })).toBe("ISTANBUL");
    expect(text("{{upper name}}", { name: "istanbul" }, { locale: "tr" })).toBe("İSTANBUL");
    expect(text("{{lower name}}|{{lower n}}|[{{lower missing}}]", { name: "ÄBC", n: 5 })).toBe("äbc|5|[]");
  });

  it("a helper's output is escaped in html, like any value", () => {
    expect(html("{{upper name}}", { name: "<b>&" })).toBe("&lt;B&gt;&amp;");
  });

  it("refuses a map and an overlong string", () => {
    expect(failure("{{upper x}}", { x: { a: 1 } })).toContain("helper 'upper': expected a string or a number, got a map");
    expect(failure("{{lower x}}", { x: "a".repeat(TEMPLATE_LIMITS.helperInput + 1) })).toContain(
      `helper 'lower': expected a string of at most ${TEMPLATE_LIMITS.helperInput} characters`,
    );
  });
});

describe("json", () => {
  it("writes data as JSON, timestamps as ISO strings", () => {
    const data = { order: { id: 7, items: ["a", "b"], at: Timestamp.fromDate(NEW_YEAR), gone: null } };
    expect(text("{{json order}}", data)).toBe('{"id":7,"items":["a","b"],"at":"2026-01-01T23:30:00.000Z","gone":null}');
    expect(text("{{json missing}}")).toBe("null");
  });

  it("cannot close a script element or break a JavaScript string, even unescaped", () => {
    const data = { note: "</script><script>alert(1)</script>&\u2028" };
    const raw = renderTemplate(doc({ html: "<script>var d = {{{json note}}};</script>" }), [], data).html;
    expect(raw).toBe('<script>var d = "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u0026\\u2028";</script>');
    expect(JSON.parse(raw!.slice("<script>var d = ".length, -";</script>".length))).toBe(data.note);
  });

  it("is HTML-escaped in html when written with two braces", () => {
    expect(html("<pre>{{json x}}</pre>", { x: { a: "b" } })).toBe("<pre>{&quot;a&quot;:&quot;b&quot;}</pre>");
  });

  it("refuses a value longer than its limit as JSON", () => {
    expect(failure("{{json x}}", { x: "a".repeat(TEMPLATE_LIMITS.jsonOutput) })).toContain(
      `helper 'json': the value is longer than ${TEMPLATE_LIMITS.jsonOutput} characters as JSON`,
    );
  });

  it("takes no options", () => {
    expect(failure("{{json x space=100000}}", { x: 1 })).toContain("helper 'json': unknown option 'space'; it takes none");
  });
});

describe("bounded work", () => {
  it("a loop over the data cannot call helpers without end", () => {
    const items = Array.from({ length: TEMPLATE_LIMITS.helperCalls + 1 }, (_, i) => i);
    expect(failure("{{#each items}}{{formatNumber this}}{{/each}}", { items })).toContain(`more than ${TEMPLATE_LIMITS.helperCalls} helper calls in one part`);
  });

  it("a loop cannot multiply a large value without end", () => {
    const big = "a".repeat(TEMPLATE_LIMITS.jsonOutput - 10);
    const items = Array.from({ length: 100 }, (_, i) => i);
    const started = Date.now();
    expect(failure("{{#each items}}{{json ../big}}{{/each}}", { items, big })).toContain(
      `helpers returned more than ${TEMPLATE_LIMITS.helperOutput} characters in one part`,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("the budget is per part and per render: the next render starts afresh", () => {
    const items = Array.from({ length: TEMPLATE_LIMITS.helperCalls }, (_, i) => i);
    const template = doc({ text: "{{#each items}}{{not this}}{{/each}}", html: "{{#each items}}{{not this}}{{/each}}" });
    const expected = "true".length + "false".length * (items.length - 1);
    for (let i = 0; i < 2; i++) expect(renderTemplate(template, [], { items }).text?.length).toBe(expected);
  });

  it("helpers cannot reach prototypes through their arguments", () => {
    expect(text('[{{json (lookup this "constructor")}}|{{upper (lookup name "constructor")}}]', { name: "x" })).toBe("[null|]");
  });
});
