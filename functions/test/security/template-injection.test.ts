/**
 * Template injection: Handlebars templates and data that try to reach
 * prototypes (and through them Function, process, the environment), abuse the
 * built-in helpers, recurse through partials, or smuggle code in as a parsed
 * template. None may run code or leak anything; each mail ends, in bounded
 * time, either rendered harmlessly or in ERROR naming the template.
 */
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";

const PROJECT = "demo-template-injection";
const ENV_MARKER = "env-MARKER-0b5d";
const TO = "reader@example.com";

/** The well-known Handlebars sandbox escape: builds Function from String.prototype and runs code with it. */
const FUNCTION_ESCAPE = [
  '{{#with "s" as |string|}}{{#with "e"}}{{#with split as |conslist|}}',
  '{{this.pop}}{{this.push (lookup string.sub "constructor")}}{{this.pop}}',
  "{{#with string.split as |codelist|}}{{this.pop}}",
  `{{this.push "globalThis.templateInjected = true; return 'RAN:' + process.env.TEMPLATE_SECRET;"}}{{this.pop}}`,
  "{{#each conslist}}{{#with (string.sub.apply 0 codelist)}}{{this}}{{/with}}{{/each}}",
  "{{/with}}{{/with}}{{/with}}{{/with}}",
].join("");

type Global = typeof globalThis & { templateInjected?: boolean };

describeWithEmulator("template injection", () => {
  const h = mailHarness(PROJECT);

  beforeAll(() => {
    process.env.TEMPLATE_SECRET = ENV_MARKER;
  });
  afterAll(() => {
    delete process.env.TEMPLATE_SECRET;
    delete (globalThis as Global).templateInjected;
  });
  beforeEach(async () => {
    await h.useSink({}, { TEMPLATES_COLLECTION: "templates" });
  });

  async function render(html: string, data: Record<string, unknown> = {}) {
    await h.db.doc("templates/t").set({ subject: "Subject", html });
    const started = Date.now();
    const snap = await h.trigger.create(h.nextPath(), { to: TO, template: { name: "t", data } });
    return {
      state: snap.get("delivery.state") as string,
      error: snap.get("delivery.error") as string | null,
      seconds: (Date.now() - started) / 1000,
      html: h.sink.messages[0]?.parsed.html || "",
    };
  }

  it("the Function-constructor escape runs nothing and renders nothing", async () => {
    const result = await render(`<p>${FUNCTION_ESCAPE}</p>`);
    expect((globalThis as Global).templateInjected).toBeUndefined();
    expect(result.state).toBe("SUCCESS");
    expect(result.html).not.toContain("RAN:");
    expect(result.html).not.toContain(ENV_MARKER);
  });

  it.each([
    ["constructor", "{{constructor}}|{{constructor.name}}"],
    ["__proto__", "{{__proto__}}|{{__proto__.constructor.name}}"],
    ["lookup", '{{lookup this "constructor"}}|{{lookup (lookup this "constructor") "name"}}|{{lookup "" "constructor"}}'],
    ["a prototype through data", '{{#with user}}{{constructor.name}}|{{lookup this "__proto__"}}{{/with}}'],
    ["process", "{{process.env.TEMPLATE_SECRET}}|{{global.process}}|{{@root.constructor.constructor}}"],
  ])("reaching %s from a template yields nothing", async (_, expression) => {
    const result = await render(`<p>[${expression}]</p>`, { user: { name: "Ann" } });
    expect(result.state).toBe("SUCCESS");
    const rendered = /<p>\[(.*)\]<\/p>/s.exec(result.html)?.[1];
    expect(rendered?.replace(/\|/g, "")).toBe("");
  });

  it("data is inserted as text, never compiled as a template", async () => {
    const result = await render("<p>{{name}}</p>{{{raw}}}", { name: "{{constructor.name}} {{> t}}", raw: `${FUNCTION_ESCAPE}{{7}}` });
    expect(result.state).toBe("SUCCESS");
    expect(result.html).toContain("<p>{{constructor.name}} {{&gt; t}}</p>");
    expect(result.html).toContain("{{7}}");
    expect((globalThis as Global).templateInjected).toBeUndefined();
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
    "a partial name chosen by the data (%s) cannot reach a prototype member",
    async (name) => {
      const result = await render("<p>{{> (lookup . 'which')}}</p>", { which: name });
      expect(result.state).toBe("ERROR");
      expect(result.error).toContain("'t'");
      expect(result.error).toContain(`partial ${name}`);
      expect(h.sink.messages).toHaveLength(0);
    },
  );

  it("a partial that includes itself ends in ERROR quickly, and the next mail is unaffected", async () => {
    await h.db.doc("templates/loop").set({ partial: true, html: "again {{> loop}}" });
    const result = await render("<p>{{> loop}}</p>");
    expect(result.state).toBe("ERROR");
    expect(result.error).toContain("'t'");
    expect(result.seconds).toBeLessThan(10);
    expect(h.sink.messages).toHaveLength(0);

    const next = await render("<p>{{name}}</p>", { name: "fine" });
    expect(next.state).toBe("SUCCESS");
    expect(next.html).toContain("<p>fine</p>");
  });

  it("calling Handlebars' internal helpers directly ends in ERROR, not a crash", async () => {
    const result = await render("<p>{{helperMissing}}{{blockHelperMissing}}</p>");
    expect(result.state).toBe("ERROR");
    expect(result.error).toContain("'t'");
  });

  it("a template given as a parsed Handlebars program (which would compile to code) is refused", async () => {
    const program = {
      type: "Program",
      body: [{ type: "ContentStatement", original: "x", value: "');globalThis.templateInjected=true;('", loc: null }],
      strip: {},
    };
    await h.db.doc("templates/t").set({ subject: "Subject", html: program });
    const snap = await h.trigger.create(h.nextPath(), { to: TO, template: { name: "t" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("html");
    expect((globalThis as Global).templateInjected).toBeUndefined();
    expect(h.sink.messages).toHaveLength(0);
  });

  describe("attachment URLs steered by template data", () => {
    const withHeaders = (path: string) => ({
      subject: "Report",
      text: "Attached.",
      attachments: [{ filename: "report.pdf", path, httpHeaders: { Authorization: "Bearer template-token" } }],
    });

    it.each([
      ["user information that moves the host", "https://files.example.com{{file}}", { file: "@evil.example/x" }, "user information"],
      ["a longer host name", "https://files.example.com{{file}}", { file: ".evil.example/x" }, "origin"],
      ["another port", "https://files.example.com{{file}}", { file: ":8443/x" }, "origin"],
      ["a whole URL from data", "{{url}}", { url: "https://evil.example/x" }, "origin"],
    ])("%s, with the template's httpHeaders, ends in ERROR before any request", async (_label, path, data, reason) => {
      await h.db.doc("templates/t").set(withHeaders(path));
      const snap = await h.trigger.create(h.nextPath(), { to: TO, template: { name: "t", data } });
      expect(snap.get("delivery.state")).toBe("ERROR");
      expect(snap.get("delivery.error")).toContain("attachments");
      expect(snap.get("delivery.error")).toContain(reason);
      expect(snap.get("delivery.error")).not.toContain("template-token");
      expect(h.sink.messages).toHaveLength(0);
    });

    it("user information in a document's own attachment URL ends in ERROR", async () => {
      const snap = await h.trigger.create(h.nextPath(), {
        to: TO,
        message: { subject: "s", text: "t", attachments: [{ filename: "a.txt", path: "https://files.example.com@evil.example/a.txt" }] },
      });
      expect(snap.get("delivery.state")).toBe("ERROR");
      expect(snap.get("delivery.error")).toContain("user information");
    });
  });

  describe("the template helpers (helpers: true) against hostile data", () => {
    async function renderWithHelpers(text: string, data: Record<string, unknown>) {
      await h.db.doc("templates/h").set({ helpers: true, subject: "Subject", text });
      const started = Date.now();
      const snap = await h.trigger.create(h.nextPath(), { to: TO, template: { name: "h", data } });
      return { state: snap.get("delivery.state") as string, error: snap.get("delivery.error") as string | null, seconds: (Date.now() - started) / 1000 };
    }

    it("data that makes a loop multiply a large value ends in ERROR quickly, naming the template and the helper", async () => {
      const result = await renderWithHelpers("{{#each items}}{{json ../blob}}{{/each}}", { items: Array.from({ length: 5000 }, (_, i) => i), blob: "x".repeat(90_000) });
      expect(result.state).toBe("ERROR");
      expect(result.error).toMatch(/^Could not render template 'h', part 'text': helper 'json': helpers returned more than/);
      expect(result.seconds).toBeLessThan(10);
      expect(h.sink.messages).toHaveLength(0);
    });

    it("json output cannot break out of a script element, even in triple braces", async () => {
      await h.db.doc("templates/h").set({ helpers: true, subject: "Subject", html: "<script>var d = {{{json payload}}};</script>" });
      const snap = await h.trigger.create(h.nextPath(), { to: TO, template: { name: "h", data: { payload: { x: "</script><img src=x onerror=alert(1)>" } } } });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      const html = h.sink.messages[0].parsed.html || "";
      expect(html).not.toContain("</script><img");
      expect(html.match(/<\/script>/g)).toHaveLength(1);
    });

    it("data cannot reach a prototype through a helper's arguments or options", async () => {
      const result = await renderWithHelpers('[{{json (lookup this "constructor")}}|{{formatDate at constructor=1}}]', { at: "2026-01-01" });
      expect(result.state).toBe("ERROR");
      expect(result.error).toContain("helper 'formatDate': unknown option 'constructor'");
    });
  });
});
