/** USER_TEMPLATE_FIELDS: which fields of a recipient's user document a template may read, as `@recipient`. */
import { problem, read, receivedName, type Env } from "./env-values";

export const USER_TEMPLATE_FIELD_LIMITS = Object.freeze({
  /** Fields the param may list: each is read from the user document with every such mail. */
  fields: 20,
  /** Characters in one field name. */
  nameLength: 64,
});

/** A top-level field name Firestore takes without quoting; paths into maps are not offered, so no map is handed over whole. */
const FIELD_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${USER_TEMPLATE_FIELD_LIMITS.nameLength - 1}}$`);

/** Comma-separated names, duplicates dropped; empty (the default) gives templates no user field. */
export function readUserTemplateFields(env: Env, problems: string[]): readonly string[] {
  const text = read(env, "USER_TEMPLATE_FIELDS");
  if (text === undefined) return Object.freeze([]);
  const fields = [...new Set(text.split(",").map((field) => field.trim()).filter((field) => field !== ""))];
  const bad = fields.find((field) => !FIELD_NAME.test(field));
  if (bad !== undefined) {
    problem(
      problems,
      `USER_TEMPLATE_FIELDS must list top-level field names separated by commas (letters, digits and _, not starting with a digit, at most ${USER_TEMPLATE_FIELD_LIMITS.nameLength} characters each), got ${receivedName(bad)}`,
    );
    return Object.freeze([]);
  }
  if (fields.length > USER_TEMPLATE_FIELD_LIMITS.fields) {
    problem(problems, `USER_TEMPLATE_FIELDS must list at most ${USER_TEMPLATE_FIELD_LIMITS.fields} fields, got ${fields.length}`);
    return Object.freeze([]);
  }
  return Object.freeze(fields);
}
