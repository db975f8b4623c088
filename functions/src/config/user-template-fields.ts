/** USER_TEMPLATE_FIELDS: which fields of a recipient's user document a template may read, as `@recipient`. */
import { TEMPLATE_LIMITS } from "../mail/template-limits";
import { problem, read, receivedName, type Env } from "./env-values";

/** A top-level field name Firestore takes without quoting; paths into maps are not offered, so no map is handed over whole. */
const FIELD_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${TEMPLATE_LIMITS.userFieldNameLength - 1}}$`);

/** Comma-separated names, duplicates dropped; empty (the default) gives templates no user field. */
export function readUserTemplateFields(env: Env, problems: string[]): readonly string[] {
  const text = read(env, "USER_TEMPLATE_FIELDS");
  if (text === undefined) return Object.freeze([]);
  const fields = [...new Set(text.split(",").map((field) => field.trim()).filter((field) => field !== ""))];
  const bad = fields.find((field) => !FIELD_NAME.test(field));
  if (bad !== undefined) {
    problem(
      problems,
      `USER_TEMPLATE_FIELDS must list top-level field names separated by commas (letters, digits and _, not starting with a digit, at most ${TEMPLATE_LIMITS.userFieldNameLength} characters each), got ${receivedName(bad)}`,
    );
    return Object.freeze([]);
  }
  if (fields.length > TEMPLATE_LIMITS.userFields) {
    problem(problems, `USER_TEMPLATE_FIELDS must list at most ${TEMPLATE_LIMITS.userFields} fields, got ${fields.length}`);
    return Object.freeze([]);
  }
  return Object.freeze(fields);
}
