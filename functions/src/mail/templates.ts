/**
 * Templates (TEMPLATES_COLLECTION): documents with optional `subject`,
 * `html`, `text`, `amp` and `attachments`, rendered with Handlebars. A
 * document is named by its `name` field, or by its id when it has none. Documents whose `partial` is truthy are partials: each of their
 * parts can be included from the same part of a template (`{{> name}}`).
 *
 * Templates are read when a mail is sent (the template document, plus the
 * partials when the template includes any), not kept by a listener: a
 * template created, edited or deleted just before a mail is written is what
 * that mail gets, even on an instance that sat idle (and CPU-throttled) in
 * between. Compiled templates are cached by the documents' update times, so
 * an edit compiles afresh and an unchanged template compiles once.
 *
 * A missing template is a validation error naming it. Attachments are
 * rendered field by field rather than as one JSON text, so that data with
 * quotes, backslashes or newlines cannot break them and `&` in a URL is not
 * HTML-escaped. Partials are read with the template, so a deleted partial
 * stops being used.
 */
import type HandlebarsModule from "handlebars";
import type { CollectionReference, DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import { DeliveryError, ValidationError, errorText } from "../shared/errors";
import { isReservedId } from "../shared/firestore-ids";
import { isTransientStatus } from "../shared/firestore-status";
import { isPlainMap } from "../shared/plain-map";
import type { MailAttachment, MailMessage } from "../shared/types";
import { hasOverlongWord, parseAttachments } from "./validation";

const PARTS = ["subject", "html", "text", "amp"] as const;
type Part = (typeof PARTS)[number];

/**
 * html and amp are HTML: values are escaped, and `{{{ }}}` opts out (for
 * URLs). subject and text are plain text and are not escaped.
 */
const HTML_PARTS: ReadonlySet<Part> = new Set<Part>(["html", "amp"]);

/** A document of the templates collection. `version` (its update time) keys the compile cache. */
export interface TemplateDocument {
  id: string;
  fields: Record<string, unknown>;
  version?: string;
}

/** What a template contributes to the message; a part that is absent leaves the document's own. */
export interface RenderedTemplate {
  subject?: string;
  html?: string;
  text?: string;
  amp?: string;
  /** Present when the template has `attachments`: they replace the message's. */
  attachments?: MailAttachment[];
  /** Unsupported attachment fields that were dropped, for the caller to log. */
  ignoredFields: string[];
}

function missingTemplateError(name: string): ValidationError {
  return new ValidationError(`Tried to render non-existent template '${name}'`);
}

/**
 * A failure to read the templates collection, not the mail document's
 * fault. Transient unless Firestore refused the read outright, so that an
 * automatic retry (MAX_ATTEMPTS) may succeed.
 */
export function templatesUnavailable(collection: string, reason: string, transient = true): DeliveryError {
  return new DeliveryError("lookup-failed", `Could not load templates from '${collection}': ${reason}`, { transient });
}

function renderError(name: string, part: string, reason: string): ValidationError {
  return new ValidationError(`Could not render template '${name}', part '${part}': ${reason}`);
}

// --- Loading --------------------------------------------------------------

/** A document's name: its `name` field when that is a non-empty string, else its id. */
export function templateName(document: TemplateDocument): string {
  const name = document.fields.name;
  return typeof name === "string" && name !== "" ? name : document.id;
}

/** Any truthy `partial` makes a partial (`true`, `1`, `"yes"`): templates in use are marked all these ways. */
const isPartial = (document: TemplateDocument): boolean => Boolean(document.fields.partial);

/** How many documents sharing a name are read to find one that is not a partial. */
const SAME_NAME_LIMIT = 10;

/** `{{>`, `{{#>` and their `~` forms: the only ways Handlebars includes a partial. */
const INCLUDES_PARTIAL = /\{\{~?#?>/;

function toDocument(snapshot: DocumentSnapshot): TemplateDocument {
  const time = snapshot.updateTime;
  return {
    id: snapshot.id,
    fields: snapshot.data() ?? {},
    version: time ? `${time.seconds}.${time.nanoseconds}` : undefined,
  };
}

async function read<T>(collection: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw templatesUnavailable(collection, errorText(error), isTransientStatus(error));
  }
}

/**
 * Reads template `name` and, if it includes partials, every partial.
 * @throws ValidationError when there is no such template (a partial is not a template).
 */
export async function loadTemplate(
  db: Firestore,
  collection: string,
  name: string,
): Promise<{ template: TemplateDocument; partials: TemplateDocument[] }> {
  const templates = db.collection(collection);
  const template = await findTemplate(templates, collection, name);
  if (!template) throw missingTemplateError(name);
  const includesPartials = PARTS.some((part) => {
    const source = template.fields[part];
    return typeof source === "string" && INCLUDES_PARTIAL.test(source);
  });
  if (!includesPartials) return { template, partials: [] };
  // Firestore cannot ask for "truthy"; `!= false` leaves out only documents
  // without the field or with `false`, and the rest is filtered here.
  const partials = await read(collection, () => templates.where("partial", "!=", false).get());
  return { template, partials: partials.docs.map(toDocument).filter(isPartial) };
}

/**
 * Nearly every template is named by its id, so the document with that id is
 * read first: one read, as before. Only when there is none, or it is a
 * partial, or its `name` field names it otherwise, are the documents whose
 * `name` field says `name` queried. When several templates share a name, the
 * one whose id is that name wins, else the first by id.
 */
async function findTemplate(
  templates: CollectionReference,
  collection: string,
  name: string,
): Promise<TemplateDocument | undefined> {
  // A name with "/" or a reserved id can only be a `name` field.
  if (!isReservedId(name) && !name.includes("/")) {
    const snapshot = await read(collection, () => templates.doc(name).get());
    const byId = snapshot.exists ? toDocument(snapshot) : undefined;
    if (byId && !isPartial(byId) && templateName(byId) === name) return byId;
  }
  const named = await read(collection, () => templates.where("name", "==", name).limit(SAME_NAME_LIMIT).get());
  return named.docs.map(toDocument).find((document) => !isPartial(document));
}

// --- Rendering ------------------------------------------------------------

type Environment = typeof HandlebarsModule;

let handlebars: Environment | undefined;

/**
 * Handlebars is loaded on the first render, not at import: most instances
 * never render a template, and loading it adds about 50 ms to every cold start.
 */
function loadHandlebars(): Environment {
  handlebars ??= require("handlebars") as Environment;
  return handlebars;
}

/** One Handlebars environment per part, holding that part of every partial. */
interface Library {
  environments: Record<Part, Environment>;
  /** Compiled parts by `templateId@version`. */
  compiled: Map<string, Partial<Record<Part, HandlebarsTemplateDelegate>>>;
}

/**
 * Libraries by partial set (ids and versions). A changed or deleted partial
 * makes a new key, so templates compile again against the current partials;
 * the Map's insertion order lets the oldest go first.
 */
const libraries = new Map<string, Library>();
const MAX_LIBRARIES = 4;
const MAX_COMPILED = 200;

function libraryFor(name: string, partials: TemplateDocument[]): Library {
  const key = partials.every((p) => p.version) ? partials.map((p) => `${p.id}@${p.version}`).sort().join("\n") : undefined;
  const cached = key === undefined ? undefined : libraries.get(key);
  if (cached) return cached;

  const environments = Object.fromEntries(PARTS.map((part) => [part, loadHandlebars().create()])) as Record<Part, Environment>;
  for (const partial of partials) {
    for (const part of PARTS) {
      const source = partial.fields[part];
      if (source === undefined || source === null) continue;
      // Only strings: Handlebars would compile an object as a parsed template, that is as code.
      if (typeof source !== "string") {
        throw renderError(name, part, `partial '${templateName(partial)}' has a ${part} that is not a string`);
      }
      environments[part].registerPartial(templateName(partial), source);
    }
  }
  const library: Library = { environments, compiled: new Map() };
  if (key !== undefined) {
    if (libraries.size >= MAX_LIBRARIES) libraries.delete(libraries.keys().next().value as string);
    libraries.set(key, library);
  }
  return library;
}

function compileParts(name: string, template: TemplateDocument, library: Library): Partial<Record<Part, HandlebarsTemplateDelegate>> {
  const key = template.version === undefined ? undefined : `${template.id}@${template.version}`;
  const cached = key === undefined ? undefined : library.compiled.get(key);
  if (cached) return cached;
  const compiled: Partial<Record<Part, HandlebarsTemplateDelegate>> = {};
  for (const part of PARTS) {
    const source = template.fields[part];
    if (source === undefined || source === null) continue;
    if (typeof source !== "string") throw renderError(name, part, `expected a string, got ${describeType(source)}`);
    compiled[part] = library.environments[part].compile(source, { noEscape: !HTML_PARTS.has(part) });
  }
  if (key !== undefined) {
    if (library.compiled.size >= MAX_COMPILED) library.compiled.clear();
    library.compiled.set(key, compiled);
  }
  return compiled;
}

/** Runs a template, naming the template and the part in any error (Handlebars compiles lazily, on first run). */
function run(name: string, part: string, render: () => string): string {
  try {
    return render();
  } catch (error) {
    throw renderError(name, part, handlebarsReason(error));
  }
}

/**
 * Handlebars' strict mode says `"x" not defined in [object Object] - 1:5`;
 * what follows "in" is the looked-up value stringified, which says nothing
 * useful and could be a piece of the data.
 */
function handlebarsReason(error: unknown): string {
  const text = errorText(error);
  const missing = /^"(.*)" not defined in [\s\S]*?(?: - (\d+):(\d+))?$/.exec(text);
  if (missing) {
    const where = missing[2] ? ` (line ${missing[2]}, column ${Number(missing[3]) + 1})` : "";
    return `"${missing[1]}" is not defined in template.data${where}`;
  }
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (isPlainMap(value)) return "a map";
  return typeof value === "object" ? "a value that is not a map" : `a ${typeof value}`;
}

/** Attachments take no partials; they are strict, so a missing variable fails instead of producing an empty URL. */
let attachmentEnvironment: Environment | undefined;

function renderString(name: string, part: string, source: string, data: Record<string, unknown>): string {
  // Most attachment fields (and every base64 body) contain no expression.
  if (!source.includes("{{")) return source;
  attachmentEnvironment ??= loadHandlebars().create();
  const environment = attachmentEnvironment;
  return run(name, part, () => environment.compile(source, { noEscape: true, strict: true })(data));
}

/**
 * Renders each string of each attachment on its own, so that values are
 * inserted as they are; then checks the result with the same rules as a
 * document's own attachments (an https or data: location, known fields).
 */
function renderAttachments(name: string, source: unknown, data: Record<string, unknown>, ignored: string[]): MailAttachment[] {
  if (!Array.isArray(source)) throw renderError(name, "attachments", `expected an array of maps, got ${describeType(source)}`);
  const rendered = source.map((attachment: unknown, index) => {
    const part = `attachments[${index}]`;
    if (!isPlainMap(attachment)) throw renderError(name, part, `expected a map, got ${describeType(attachment)}`);
    const result = Object.fromEntries(
      Object.entries(attachment).map(([key, value]) => [
        key,
        renderValue(name, `${part}.${key}`, value, data),
      ]),
    );
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
 * A template's `httpHeaders` (an Authorization header, say) are meant for the
 * server the template names. When data fills part of the URL, the origin
 * (scheme, host, port) must still be the one written literally before the
 * first `{{`: otherwise data such as ".evil.example/x" or ":8443/x" would move
 * the request, headers and all, to another server.
 */
function checkOrigin(name: string, part: string, source: unknown, rendered: unknown): void {
  if (typeof source !== "string" || typeof rendered !== "string" || !source.includes("{{") || rendered.startsWith("data:")) return;
  // User information is refused by the attachment checks that follow, with a message of its own.
  if (/^https:\/\/[^/?#]*@/i.test(rendered)) return;
  const literal = source.slice(0, source.indexOf("{{"));
  const origin = (text: string): string | undefined => {
    try {
      return /^https:\/\/[^/?#@]+/i.test(text) ? new URL(text).origin : undefined;
    } catch {
      return undefined;
    }
  };
  const expected = origin(literal);
  if (expected === undefined || origin(rendered) !== expected) {
    throw renderError(
      name,
      part,
      `expected a URL whose origin is the one written in the template (${expected ?? "none is written before the first {{"}), since the template sends httpHeaders with it; the data moved it elsewhere`,
    );
  }
}

/** Strings are rendered; maps and arrays (attachment headers) are walked; anything else (bytes) is kept. */
function renderValue(name: string, part: string, value: unknown, data: Record<string, unknown>): unknown {
  if (typeof value === "string") return renderString(name, part, value, data);
  if (Array.isArray(value)) return value.map((item, index) => renderValue(name, `${part}[${index}]`, item, data));
  if (isPlainMap(value)) {
    const entries = Object.entries(value);
    return Object.fromEntries(entries.map(([key, item]) => [key, renderValue(name, `${part}.${key}`, item, data)]));
  }
  return value;
}

/**
 * Renders `template` with `data`. Pure apart from the compile cache.
 * @throws ValidationError naming the template and the part that failed.
 */
export function renderTemplate(
  template: TemplateDocument,
  partials: TemplateDocument[],
  data: Record<string, unknown>,
): RenderedTemplate {
  const name = templateName(template);
  const compiled = compileParts(name, template, libraryFor(name, partials));
  const rendered: RenderedTemplate = { ignoredFields: [] };
  for (const part of PARTS) {
    const render = compiled[part];
    if (render) rendered[part] = run(name, part, () => render(data));
  }
  // The subject becomes a header line: the document's data must not make it unfoldable.
  if (rendered.subject !== undefined && hasOverlongWord(rendered.subject)) {
    throw renderError(name, "subject", "the rendered subject has a word longer than 900 characters");
  }
  const attachments = template.fields.attachments;
  if (attachments !== undefined && attachments !== null) {
    rendered.attachments = renderAttachments(name, attachments, data, rendered.ignoredFields);
  }
  return rendered;
}

/**
 * Merges a rendered template into the document's `message`: a rendered part
 * replaces the document's (even when it is empty), a part the template does
 * not have keeps the document's, and template attachments replace the
 * document's.
 */
export function applyTemplate(message: MailMessage | undefined, rendered: RenderedTemplate): MailMessage {
  const merged: MailMessage = { ...message };
  for (const part of PARTS) {
    const value = rendered[part];
    if (value !== undefined) merged[part] = value;
  }
  if (rendered.attachments !== undefined) merged.attachments = rendered.attachments;
  return merged;
}
