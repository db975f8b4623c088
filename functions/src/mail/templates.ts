/**
 * Templates (TEMPLATES_COLLECTION): documents with optional `subject`, `html`, `text`, `amp` and `attachments`,
 * rendered with Handlebars, named by their `name` field or else their id. Documents with a truthy `partial` are
 * partials, each part includable from the same part of a template (`{{> name}}`).
 *
 * Read at send time, not kept by a listener, so that a mail gets the template as it was when written even on an
 * instance idle in between; compiled templates are cached by update time. Attachments are rendered field by field
 * rather than as one JSON text, so that quotes or newlines in data cannot break them and `&` in a URL is not HTML-escaped.
 *
 * A template may have variants by locale (`localized`, chosen by the mail's locale with a fallback chain), turn on the
 * fixed helper set (`helpers: true`, template-helpers.ts), and receive the single recipient's allowed user fields as
 * `@recipient`: a data variable, so that it can never shadow a key of `template.data`.
 */
import type HandlebarsModule from "handlebars";
import type { CollectionReference, DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import { DeliveryError, ValidationError, errorText } from "../shared/errors";
import { isReservedId } from "../shared/firestore-ids";
import { isTransientStatus } from "../shared/firestore-status";
import { isPlainMap } from "../shared/plain-map";
import type { MailAttachment, MailMessage } from "../shared/types";
import { canonicalLocale, fallbackChain, LOCALE_EXPECTED } from "./locale";
import { helpersFor, type HelperContext } from "./template-helpers";
import { TEMPLATE_LIMITS } from "./template-limits";
import { hasOverlongWord, parseAttachments } from "./validation";

const PARTS = ["subject", "html", "text", "amp"] as const;
type Part = (typeof PARTS)[number];

/** Values are HTML-escaped in these parts only (`{{{ }}}` opts out); subject and text are plain text. */
const HTML_PARTS: ReadonlySet<Part> = new Set<Part>(["html", "amp"]);

/** A document of the templates collection. `version` (its update time) keys the compile cache. */
export interface TemplateDocument {
  id: string;
  fields: Record<string, unknown>;
  version?: string;
}

/** What a render is given beside `template.data`. */
export interface RenderOptions {
  /** The locale the mail asks for (its `locale`, else its recipient's), canonical: picks the variant and formats. */
  locale?: string;
  /** Where helpers show times, canonical. Default UTC. */
  timeZone?: string;
  /** The allowed fields of the recipient's user document, `@recipient` in the template. */
  recipient?: Record<string, unknown>;
}

/** Helpers format in this locale when neither the mail nor the template names one. */
export const DEFAULT_FORMAT_LOCALE = "en-US";
export const DEFAULT_TIME_ZONE = "UTC";

/** What a template contributes to the message; a part that is absent leaves the document's own. */
export interface RenderedTemplate extends Partial<Record<Part, string>> {
  /** Present when the template has `attachments`: they replace the message's. */
  attachments?: MailAttachment[];
  /** Unsupported attachment fields that were dropped, for the caller to log. */
  ignoredFields: string[];
  /**
   * For `delivery.info.templateLocale`: the `localized` key used, else the template's `locale`, else null (its
   * default parts, language unstated). Undefined when neither the mail asked for a locale nor the template has variants.
   */
  templateLocale?: string | null;
}

/** Not the mail document's fault: transient unless Firestore refused the read outright, so that an automatic retry may succeed. */
export const templatesUnavailable = (collection: string, reason: string, transient = true): DeliveryError =>
  new DeliveryError("lookup-failed", `Could not load templates from '${collection}': ${reason}`, { transient });

const renderError = (name: string, part: string, reason: string): ValidationError =>
  new ValidationError(`Could not render template '${name}', part '${part}': ${reason}`);

/** Prototype access stays off whatever Handlebars' defaults become: data must not reach `constructor` and what lies behind it. */
const SAFE_RUNTIME = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false } as const;

export function templateName(document: TemplateDocument): string {
  const name = document.fields.name;
  return typeof name === "string" && name !== "" ? name : document.id;
}

/** Any truthy `partial` (`true`, `1`, `"yes"`): templates in use are marked all these ways. */
const isPartial = (document: TemplateDocument): boolean => Boolean(document.fields.partial);

/** How many documents sharing a name are read to find one that is not a partial. */
const SAME_NAME_LIMIT = 10;

/** `{{>`, `{{#>` and their `~` forms: the only ways Handlebars includes a partial. */
const INCLUDES_PARTIAL = /\{\{~?#?>/;

function toDocument(snapshot: DocumentSnapshot): TemplateDocument {
  const time = snapshot.updateTime;
  return { id: snapshot.id, fields: snapshot.data() ?? {}, version: time ? `${time.seconds}.${time.nanoseconds}` : undefined };
}

async function readOrUnavailable<T>(collection: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw templatesUnavailable(collection, errorText(error), isTransientStatus(error));
  }
}

/** The strings of a template's parts, its localized variants' included. */
function partSources(fields: Record<string, unknown>): string[] {
  const variants = isPlainMap(fields.localized) ? Object.values(fields.localized).filter(isPlainMap) : [];
  return [fields, ...variants].flatMap((source) => PARTS.map((part) => source[part])).filter((value): value is string => typeof value === "string");
}

/** @throws ValidationError when there is no template `name` (a partial is not one). */
export async function loadTemplate(db: Firestore, collection: string, name: string): Promise<{ template: TemplateDocument; partials: TemplateDocument[] }> {
  const templates = db.collection(collection);
  const template = await findTemplate(templates, collection, name);
  if (!template) throw new ValidationError(`Tried to render non-existent template '${name}'`);
  if (!partSources(template.fields).some((source) => INCLUDES_PARTIAL.test(source))) return { template, partials: [] };
  // Firestore cannot ask for "truthy": `!= false` leaves out documents without the field or with `false`, the rest is filtered here.
  const partials = await readOrUnavailable(collection, () => templates.where("partial", "!=", false).get());
  return { template, partials: partials.docs.map(toDocument).filter(isPartial) };
}

/**
 * Nearly every template is named by its id, so that document is read first; only when it is missing, a partial
 * or named otherwise is `name` queried. Among templates sharing a name, the one whose id is that name wins, else
 * the first by id.
 */
async function findTemplate(templates: CollectionReference, collection: string, name: string): Promise<TemplateDocument | undefined> {
  // A name with "/" or a reserved id can only be a `name` field.
  if (!isReservedId(name) && !name.includes("/")) {
    const snapshot = await readOrUnavailable(collection, () => templates.doc(name).get());
    const byId = snapshot.exists ? toDocument(snapshot) : undefined;
    if (byId && !isPartial(byId) && templateName(byId) === name) return byId;
  }
  const named = await readOrUnavailable(collection, () => templates.where("name", "==", name).limit(SAME_NAME_LIMIT).get());
  return named.docs.map(toDocument).find((document) => !isPartial(document));
}

type Environment = typeof HandlebarsModule;

/** Loaded on the first render, not at import: most instances never render a template, and it adds about 50 ms to a cold start. */
const loadHandlebars = (): Environment => require("handlebars") as Environment;
type CompiledParts = Partial<Record<Part, HandlebarsTemplateDelegate>>;

/** One Handlebars environment per part, holding that part of every partial. */
interface Library {
  environments: Record<Part, Environment>;
  /** Compiled parts by `templateId@version`. */
  compiled: Map<string, CompiledParts>;
}

/** Compiled templates by partial set (ids and versions): a changed or deleted partial makes a new key. One per runtime. */
export type TemplateCache = Map<string, Library>;
export const createTemplateCache = (): TemplateCache => new Map();
const MAX_LIBRARIES = 4;
const MAX_COMPILED = 200;

/** `build()`, kept under `key` unless that is undefined (a document without update time); oldest out first. */
function cached<T>(cache: Map<string, T>, key: string | undefined, max: number, build: () => T): T {
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit) return hit;
  const value = build();
  if (key !== undefined) {
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }
  return value;
}

/** A Handlebars environment of its own: nothing is ever registered on the global one. */
const createEnvironment = (): Environment => loadHandlebars().create();

function libraryFor(libraries: TemplateCache, name: string, partials: TemplateDocument[]): Library {
  const key = partials.every((p) => p.version) ? partials.map((p) => `${p.id}@${p.version}`).sort().join("\n") : undefined;
  return cached(libraries, key, MAX_LIBRARIES, () => {
    const environments = Object.fromEntries(PARTS.map((part) => [part, createEnvironment()])) as Record<Part, Environment>;
    for (const partial of partials) {
      for (const part of PARTS) {
        const source = partial.fields[part];
        if (source === undefined || source === null) continue;
        // Only strings: Handlebars would compile an object as a parsed template, that is as code.
        if (typeof source !== "string") throw renderError(name, part, `partial '${templateName(partial)}' has a ${part} that is not a string`);
        environments[part].registerPartial(templateName(partial), source);
      }
    }
    return { environments, compiled: new Map() };
  });
}

function compileParts(name: string, template: TemplateDocument, variants: Variant[], library: Library): CompiledParts {
  const key = template.version === undefined ? undefined : `${template.id}@${template.version}#${variants.map((v) => v.key).join("\n")}`;
  return cached(library.compiled, key, MAX_COMPILED, () => {
    const compiled: CompiledParts = {};
    for (const part of PARTS) {
      const variant = variants.find((v) => v.fields[part] !== undefined && v.fields[part] !== null);
      const source = variant ? variant.fields[part] : template.fields[part];
      if (source === undefined || source === null) continue;
      const where = variant ? `localized.${variant.key}.${part}` : part;
      if (typeof source !== "string") throw renderError(name, where, `expected a string, got ${describeType(source)}`);
      compiled[part] = library.environments[part].compile(source, { noEscape: !HTML_PARTS.has(part) });
    }
    return compiled;
  });
}

/** Handlebars compiles lazily, on first run: compile errors surface here too. Each part gets the helper set afresh, with its own budget. */
function runPart(name: string, part: string, setup: Setup, render: (runtime: HandlebarsModule.RuntimeOptions) => string): string {
  try {
    return render(setup.useHelpers ? { ...setup.runtime, helpers: helpersFor(setup.helpers) } : setup.runtime);
  } catch (error) {
    const text = errorText(error);
    // Strict mode says `"x" not defined in [object Object] - 1:5`: what follows "in" is a piece of the data, so it goes.
    const missing = /^"(.*)" not defined in [\s\S]*?(?: - (\d+):(\d+))?$/.exec(text);
    const where = missing?.[2] ? ` (line ${missing[2]}, column ${Number(missing[3]) + 1})` : "";
    if (missing) throw renderError(name, part, `"${missing[1]}" is not defined in template.data${where}`);
    throw renderError(name, part, text.length > 500 ? `${text.slice(0, 500)}…` : text);
  }
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (isPlainMap(value)) return "a map";
  return typeof value === "object" ? "a value that is not a map" : `a ${typeof value}`;
}


/** How a template renders, as its fields and the mail decide. */
interface Setup {
  helpers: HelperContext;
  /** Handlebars runtime options: prototype access off, and `@recipient` when there is one. */
  runtime: HandlebarsModule.RuntimeOptions;
  useHelpers: boolean;
}

/** Attachments take no partials; they are strict, so a missing variable fails instead of producing an empty URL. */
function renderAttachments(name: string, source: unknown, data: Record<string, unknown>, setup: Setup, ignored: string[]): MailAttachment[] {
  const environment = createEnvironment();
  if (!Array.isArray(source)) throw renderError(name, "attachments", `expected an array of maps, got ${describeType(source)}`);
  const rendered = source.map((attachment: unknown, index) => {
    const part = `attachments[${index}]`;
    if (!isPlainMap(attachment)) throw renderError(name, part, `expected a map, got ${describeType(attachment)}`);
    const result = renderValue(environment, name, part, attachment, data, setup) as Record<string, unknown>;
    if (attachment.httpHeaders !== undefined && attachment.httpHeaders !== null) {
      for (const key of ["path", "href"] as const) checkOrigin(name, `${part}.${key}`, attachment[key], result[key]);
    }
    return result;
  });
  try {
    return parseAttachments(rendered, "attachments", ignored);
  } catch (error) {
    if (error instanceof ValidationError) throw renderError(name, "attachments", error.message);
    throw error;
  }
}

/**
 * A template's `httpHeaders` (Authorization, say) are meant for the server it names: the origin must be the
 * one written before the first `{{`, or data such as ".evil.example/x" would move the request, headers and all.
 */
function checkOrigin(name: string, part: string, source: unknown, rendered: unknown): void {
  if (typeof source !== "string" || typeof rendered !== "string" || !source.includes("{{") || rendered.startsWith("data:")) return;
  // User information is refused by the attachment checks that follow, with a message of its own.
  if (/^https:\/\/[^/?#]*@/i.test(rendered)) return;
  const literal = source.slice(0, source.indexOf("{{"));
  const origin = (text: string): string | undefined =>
    /^https:\/\/[^/?#@]+/i.test(text) && URL.canParse(text) ? new URL(text).origin : undefined;
  const expected = origin(literal);
  if (expected === undefined || origin(rendered) !== expected) {
    const written = expected ?? "none is written before the first {{";
    throw renderError(name, part, `expected a URL whose origin is the one written in the template (${written}), since the template sends httpHeaders with it; the data moved it elsewhere`);
  }
}

/** Strings are rendered; maps and arrays (attachment headers) are walked; anything else (bytes) is kept. */
function renderValue(environment: Environment, name: string, part: string, value: unknown, data: Record<string, unknown>, setup: Setup): unknown {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value; // Most attachment fields, and every base64 body.
    return runPart(name, part, setup, (runtime) => environment.compile(value, { noEscape: true, strict: true })(data, runtime));
  }
  if (Array.isArray(value)) return value.map((item, index) => renderValue(environment, name, `${part}[${index}]`, item, data, setup));
  if (!isPlainMap(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderValue(environment, name, `${part}.${key}`, item, data, setup)]));
}

/** One `localized` entry: its key as written and its parts. */
interface Variant {
  key: string;
  fields: Record<string, unknown>;
}

/**
 * The variants for `requested` along its fallback chain (`de-CH`, then `de`), keys compared in canonical form.
 * Each part comes from the first of them that has it, else from the template's default parts. The whole map is
 * checked, so that a mistake shows on first use.
 */
function chooseVariants(name: string, localized: unknown, requested: string | undefined): Variant[] {
  if (localized === undefined || localized === null) return [];
  if (!isPlainMap(localized)) throw renderError(name, "localized", `expected a map of language tags to maps of parts, got ${describeType(localized)}`);
  const entries = Object.entries(localized);
  if (entries.length > TEMPLATE_LIMITS.localizedVariants) throw renderError(name, "localized", `expected at most ${TEMPLATE_LIMITS.localizedVariants} variants`);
  const byTag = new Map<string, Variant>();
  for (const [key, fields] of entries) {
    const tag = canonicalLocale(key);
    const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    if (!tag) throw renderError(name, `localized.${shown}`, `expected the key to be ${LOCALE_EXPECTED}`);
    if (!isPlainMap(fields)) throw renderError(name, `localized.${shown}`, `expected a map of parts (subject, html, text, amp), got ${describeType(fields)}`);
    if (!byTag.has(tag)) byTag.set(tag, { key, fields });
  }
  if (requested === undefined) return [];
  return fallbackChain(requested).flatMap((tag) => byTag.get(tag) ?? []);
}

function templateSetup(name: string, template: TemplateDocument, options: RenderOptions): { setup: Setup; variants: Variant[]; templateLocale?: string | null } {
  const { fields } = template;
  const useHelpers = fields.helpers ?? false;
  if (typeof useHelpers !== "boolean") throw renderError(name, "helpers", `expected true or false, got ${describeType(useHelpers)}`);
  const ownLocale = fields.locale === undefined || fields.locale === null ? undefined : canonicalLocale(fields.locale);
  if (ownLocale === undefined && fields.locale !== undefined && fields.locale !== null) throw renderError(name, "locale", `expected ${LOCALE_EXPECTED}`);
  const variants = chooseVariants(name, fields.localized, options.locale);
  // A variant speaks the requested language; the default parts speak the template's own, when it says which.
  const locale = variants.length > 0 ? options.locale : ownLocale ?? options.locale;
  const helpers = { locale: locale ?? DEFAULT_FORMAT_LOCALE, timeZone: options.timeZone ?? DEFAULT_TIME_ZONE };
  const runtime = options.recipient ? { ...SAFE_RUNTIME, data: { recipient: options.recipient } } : SAFE_RUNTIME;
  const asked = options.locale !== undefined || (fields.localized !== undefined && fields.localized !== null);
  const templateLocale = asked ? (variants[0]?.key ?? ownLocale ?? null) : undefined;
  return { setup: { helpers, runtime, useHelpers }, variants, templateLocale };
}

/** @throws ValidationError naming the template and the part that failed. */
export function renderTemplate(
  template: TemplateDocument,
  partials: TemplateDocument[],
  data: Record<string, unknown>,
  cache = createTemplateCache(),
  options: RenderOptions = {},
): RenderedTemplate {
  const name = templateName(template);
  const { setup, variants, templateLocale } = templateSetup(name, template, options);
  const compiled = compileParts(name, template, variants, libraryFor(cache, name, partials));
  const rendered: RenderedTemplate = { ignoredFields: [] };
  if (templateLocale !== undefined) rendered.templateLocale = templateLocale;
  for (const part of PARTS) {
    const render = compiled[part];
    if (render) rendered[part] = runPart(name, part, setup, (runtime) => render(data, runtime));
  }
  // The subject becomes a header line: the document's data must not make it unfoldable.
  if (rendered.subject !== undefined && hasOverlongWord(rendered.subject)) {
    throw renderError(name, "subject", "the rendered subject has a word longer than 900 characters");
  }
  const attachments = template.fields.attachments;
  if (attachments !== undefined && attachments !== null) rendered.attachments = renderAttachments(name, attachments, data, setup, rendered.ignoredFields);
  return rendered;
}

/** A rendered part (even empty) replaces the document's; a part the template lacks keeps it; attachments are replaced whole. */
export function applyTemplate(message: MailMessage | undefined, rendered: RenderedTemplate): MailMessage {
  const merged: MailMessage = { ...message };
  for (const part of PARTS) if (rendered[part] !== undefined) merged[part] = rendered[part];
  if (rendered.attachments !== undefined) merged.attachments = rendered.attachments;
  return merged;
}
