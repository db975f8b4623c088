#!/usr/bin/env node
/**
 * `npm run report`: the mail queue at a glance, read from Firestore. Counts
 * per `delivery.state` come from count() aggregations; the oldest waiting
 * mail, the last errors and the bounces and complaints per day from a
 * bounded number of documents, read with field masks. It prints paths,
 * ages, counts and error texts with quoted parts, addresses and long
 * tokens masked: never a subject, a body or an address.
 *
 *   npm run report                      # the local stack of `npm start`
 *   npm run report -- --project my-app  # a deployed instance (Application Default Credentials)
 *   npm run report -- --json            # one JSON object, for scripts
 *
 * What each figure costs and means: docs/operations.md#the-queue-report.
 */
"use strict";

const { parseArgs } = require("node:util");
const { emulatorAnswers, functionsRequire, localSettings } = require("./local-settings");

const STATES = ["PENDING", "PROCESSING", "RETRY", "SUCCESS", "ERROR"];

/** Bounds on what one report reads (docs/operations.md#the-queue-report). */
const LIMITS = {
  /** Finished mails read, newest first, for the errors and the bounces (--limit). */
  finished: 1000,
  finishedMax: 10000,
  /** Waiting mails read to find the oldest of each kind (more only where a wildcard's foreign collections come first). */
  waiting: 100,
  /** Days of finished mail looked at (--days). */
  days: 7,
  daysMax: 31,
  /** Error groups printed. */
  errorGroups: 10,
  /** Characters of an error text kept. */
  errorText: 100,
};

/** One aggregation read per this many index entries counted (minimum one per query). */
const ENTRIES_PER_AGGREGATION_READ = 1000;
/** The gRPC status of a query that needs an index Firestore does not have. */
const FAILED_PRECONDITION = 9;

const USAGE = `Usage:
  npm run report [-- --json]                       the local stack of \`npm start\` (FIRESTORE_EMULATOR_HOST, project demo-send-email)
  npm run report -- --project PROJECT_ID [--json]  a deployed instance, with Application Default Credentials
Options:
  --collection PATH  MAIL_COLLECTION (default: the local env file's, or "mail" with --project); wildcards as in users/{uid}/mail
  --database ID      DATABASE (default: the local env file's, or "(default)" with --project)
  --days N           finished mail of the last N days for errors, bounces and complaints (default ${LIMITS.days}, at most ${LIMITS.daysMax})
  --limit N          finished mails read at most (default ${LIMITS.finished}, at most ${LIMITS.finishedMax})
  --json             one JSON object instead of text`;

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: "string" },
      collection: { type: "string" },
      database: { type: "string" },
      days: { type: "string", default: String(LIMITS.days) },
      limit: { type: "string", default: String(LIMITS.finished) },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  return values;
}

function wholeNumber(name, text, max) {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be a whole number from 1 to ${max}, got "${text}"`);
  return value;
}

/**
 * MAIL_COLLECTION's queries: one collection, or every collection of its
 * last segment's name (a collection-group query), of which `contains` keeps
 * those matching the pattern, as functions/src/delivery/mail-collection.ts does.
 */
function mailCollection(db, pattern) {
  const segments = pattern.split("/");
  if (segments.length % 2 === 0 || segments.some((segment) => segment === "")) {
    throw new Error(`--collection must be a collection path such as mail or users/{uid}/mail, got "${pattern}"`);
  }
  const wildcard = (segment) => /^\{[^/{}]+\}$/.test(segment);
  const parentOf = (documentPath) => documentPath.slice(0, documentPath.lastIndexOf("/"));
  if (!segments.some(wildcard)) return { group: false, query: db.collection(pattern), contains: (documentPath) => parentOf(documentPath) === pattern };
  const contains = (documentPath) => {
    const actual = parentOf(documentPath).split("/");
    return actual.length === segments.length && segments.every((segment, i) => wildcard(segment) || segment === actual[i]);
  };
  return { group: true, query: db.collectionGroup(segments[segments.length - 1]), contains };
}

/**
 * The clause of a `delivery.error` that names what failed, safe to print:
 * cut at the first ": " (server replies and reasons follow it), quoted
 * parts, addresses, URLs, long numbers and tokens masked, clipped. A sender
 * profile's error keeps its `Sender profile "id": ` prefix (the tenant's id,
 * as in the mail's path), so that each tenant's failures group apart.
 */
function normaliseError(text) {
  if (typeof text !== "string" || text.trim() === "") return "(no error text)";
  const profile = /^Sender profile "([^"\s]{1,100})": /.exec(text);
  if (profile) return `Sender profile "${profile[1]}": ${normaliseError(text.slice(profile[0].length))}`;
  const clause = text
    .split(/:\s/)[0]
    .replace(/"[^"]*"/g, '"…"')
    // Quoted, not an apostrophe: "the server's reply … the provider's" stays.
    .replace(/(^|[\s(])'[\s\S]*?'(?=[\s,.;:)]|$)/g, "$1'…'")
    .replace(/`[^`]*`/g, "`…`")
    .replace(/<[^>]*>/g, "<…>")
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>")
    .replace(/\S+@\S+/g, "<address>")
    .replace(/\d{4,}/g, "#")
    .replace(/[A-Za-z0-9_+/=-]{24,}/g, "…")
    .replace(/\s+/g, " ")
    .trim();
  return clause.length > LIMITS.errorText ? `${clause.slice(0, LIMITS.errorText - 1)}…` : clause;
}

const seconds = (ms) => Math.max(0, Math.round(ms / 1000));
const millisOf = (value) => (value && typeof value.toMillis === "function" ? value.toMillis() : undefined);
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Runs every query of one report and keeps what it cost; a query Firestore refuses for want of an index becomes a note. */
class Reader {
  constructor() {
    this.aggregationReads = 0;
    this.documentReads = 0;
    this.notes = [];
  }

  async count(what, query) {
    const answer = await this.attempt(what, () => query.count().get());
    if (answer === null) return null;
    const count = answer.data().count;
    this.aggregationReads += Math.max(1, Math.ceil(count / ENTRIES_PER_AGGREGATION_READ));
    return count;
  }

  async documents(what, query) {
    const answer = await this.attempt(what, () => query.get());
    if (answer === null) return [];
    this.documentReads += Math.max(1, answer.size);
    return answer.docs;
  }

  async attempt(what, run) {
    try {
      return await run();
    } catch (error) {
      if (error?.code !== FAILED_PRECONDITION) throw error;
      const link = /https:\/\/console\.firebase\.google\.com\/\S+/.exec(String(error.message))?.[0];
      this.notes.push(`${what}: Firestore needs an index for this query (${link ?? "Firestore → Indexes in the Firebase console"}); see docs/operations.md#the-queue-report.`);
      return null;
    }
  }
}

async function report(db, options, { Timestamp, FieldPath }) {
  const now = Date.now();
  const since = now - options.days * 24 * 3600 * 1000;
  const mail = mailCollection(db, options.collection);
  const read = new Reader();
  const nowStamp = Timestamp.fromMillis(now);

  const [total, scheduled, ...byState] = await Promise.all([
    read.count("all mail", mail.query),
    read.count("scheduled mail", mail.query.where("delivery.nextAttemptTime", ">", nowStamp)),
    ...STATES.map((state) => read.count(`mail in ${state}`, mail.query.where("delivery.state", "==", state))),
  ]);
  const counts = Object.fromEntries(STATES.map((state, i) => [state, byState[i]]));
  const known = byState.every((count) => count !== null) && total !== null;
  counts.other = known ? Math.max(0, total - byState.reduce((sum, count) => sum + count, 0)) : null;
  counts.total = total;
  counts.scheduled = scheduled;

  const mask = (query, ...fields) => query.select(...fields);
  const [due, upcoming, retries, finished] = await Promise.all([
    read.documents("due mail", mask(mail.query.where("delivery.nextAttemptTime", "<=", nowStamp).orderBy("delivery.nextAttemptTime").limit(LIMITS.waiting), "delivery.state", "delivery.nextAttemptTime")),
    read.documents("scheduled mail", mask(mail.query.where("delivery.nextAttemptTime", ">", nowStamp).orderBy("delivery.nextAttemptTime").limit(LIMITS.waiting), "delivery.state", "delivery.nextAttemptTime")),
    read.documents("mail in RETRY", mask(mail.query.where("delivery.state", "==", "RETRY").limit(LIMITS.waiting), "delivery.state")),
    read.documents(
      "finished mail",
      mask(mail.query.where("delivery.endTime", ">=", Timestamp.fromMillis(since)).orderBy("delivery.endTime", "desc").limit(options.limit), "delivery.state", "delivery.error", "delivery.endTime", new FieldPath("deliveryStatus", "recipients")),
    ),
  ]);
  const own = (docs) => docs.filter((doc) => mail.contains(doc.ref.path));
  const pending = (docs) => own(docs).find((doc) => doc.get("delivery.state") === "PENDING");
  const ageOf = (doc) => seconds(now - doc.createTime.toMillis());

  const dueDoc = pending(due);
  const nextDoc = pending(upcoming);
  const retryDoc = own(retries).sort((a, b) => a.updateTime.toMillis() - b.updateTime.toMillis())[0];
  const waiting = {
    due: dueDoc ? { path: dueDoc.ref.path, dueForSeconds: seconds(now - millisOf(dueDoc.get("delivery.nextAttemptTime"))), ageSeconds: ageOf(dueDoc) } : null,
    retry: retryDoc ? { path: retryDoc.ref.path, waitingSeconds: seconds(now - retryDoc.updateTime.toMillis()), ageSeconds: ageOf(retryDoc) } : null,
    scheduled: nextDoc ? { path: nextDoc.ref.path, dueInSeconds: seconds(millisOf(nextDoc.get("delivery.nextAttemptTime")) - now), ageSeconds: ageOf(nextDoc) } : null,
  };

  const finishedOwn = own(finished);
  const groups = new Map();
  for (const doc of finishedOwn.filter((d) => d.get("delivery.state") === "ERROR")) {
    const error = normaliseError(doc.get("delivery.error"));
    const endMs = millisOf(doc.get("delivery.endTime")) ?? 0;
    const group = groups.get(error) ?? { error, count: 0, lastMs: 0 };
    group.count++;
    group.lastMs = Math.max(group.lastMs, endMs);
    groups.set(error, group);
  }
  const errorGroups = [...groups.values()].sort((a, b) => b.count - a.count || b.lastMs - a.lastMs);

  const days = new Map();
  for (const doc of finishedOwn) {
    const recipients = doc.get("deliveryStatus.recipients");
    if (typeof recipients !== "object" || recipients === null) continue;
    for (const entry of Object.values(recipients)) {
      const kind = entry?.status === "complained" ? "complaints" : entry?.status === "bounced" ? (entry.bounceType === "hard" ? "hardBounces" : "softBounces") : undefined;
      const timeMs = millisOf(entry?.time);
      if (!kind || timeMs === undefined || timeMs < since) continue;
      const day = dayOf(timeMs);
      const row = days.get(day) ?? { day, hardBounces: 0, softBounces: 0, complaints: 0 };
      row[kind]++;
      days.set(day, row);
    }
  }

  return {
    project: options.project,
    database: options.database,
    mailCollection: options.collection,
    emulator: options.emulator ?? null,
    generatedAt: new Date(now).toISOString(),
    counts,
    waiting,
    finished: { since: new Date(since).toISOString(), read: finished.length, limit: options.limit, matching: finishedOwn.length },
    errors: {
      count: errorGroups.reduce((sum, group) => sum + group.count, 0),
      groups: errorGroups.slice(0, LIMITS.errorGroups).map(({ error, count, lastMs }) => ({ error, count, last: new Date(lastMs).toISOString() })),
    },
    bouncesAndComplaints: [...days.values()].sort((a, b) => (a.day < b.day ? 1 : -1)),
    cost: { aggregationReads: read.aggregationReads, documentReads: read.documentReads },
    notes: mail.group
      ? [`${options.collection} is a wildcard path: the counts include collections named "${options.collection.split("/").pop()}" outside it; the rest leaves them out.`, ...read.notes]
      : read.notes,
  };
}

function duration(totalSeconds) {
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const parts = [];
  let rest = totalSeconds;
  for (const [unit, size] of units) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

function text(r) {
  const n = (value) => (value === null ? "?" : value.toLocaleString("en-US"));
  const where = r.emulator ? `the emulator at ${r.emulator}` : "Firestore";
  const lines = [`Mail queue of ${r.mailCollection} in ${r.project} (database ${r.database}, ${where}), ${r.generatedAt}`, ""];
  lines.push("State        Mails");
  for (const state of STATES) lines.push(`${state.padEnd(12)} ${n(r.counts[state]).padStart(6)}${state === "PENDING" && r.counts.scheduled ? `  (${n(r.counts.scheduled)} scheduled for later)` : ""}`);
  lines.push(`${"no state".padEnd(12)} ${n(r.counts.other).padStart(6)}`, `${"total".padEnd(12)} ${n(r.counts.total).padStart(6)}`, "");

  lines.push("Waiting");
  const { due, retry, scheduled } = r.waiting;
  lines.push(`  oldest due PENDING  ${due ? `${due.path}  due for ${duration(due.dueForSeconds)}, created ${duration(due.ageSeconds)} ago` : "none"}`);
  lines.push(`  oldest RETRY        ${retry ? `${retry.path}  waiting ${duration(retry.waitingSeconds)}, created ${duration(retry.ageSeconds)} ago` : "none"}`);
  lines.push(`  next scheduled      ${scheduled ? `${scheduled.path}  due in ${duration(scheduled.dueInSeconds)}, created ${duration(scheduled.ageSeconds)} ago` : "none"}`, "");

  const f = r.finished;
  lines.push(`Errors among the last ${n(f.matching)} mails finished since ${f.since.slice(0, 10)} (${n(f.read)} read, at most ${n(f.limit)}): ${n(r.errors.count)}`);
  for (const group of r.errors.groups) lines.push(`  ${String(group.count).padStart(5)}  ${group.error}  (last ${group.last.slice(0, 16).replace("T", " ")})`);
  lines.push("");

  lines.push("Bounces and complaints recorded for those mails, by day (UTC)");
  if (r.bouncesAndComplaints.length === 0) lines.push("  none");
  else {
    lines.push("  day          hard bounces  soft bounces  complaints");
    for (const row of r.bouncesAndComplaints) lines.push(`  ${row.day}  ${String(row.hardBounces).padStart(12)}  ${String(row.softBounces).padStart(12)}  ${String(row.complaints).padStart(10)}`);
  }
  lines.push("", `Cost: ${n(r.cost.aggregationReads)} aggregation reads, ${n(r.cost.documentReads)} document reads.`);
  for (const note of r.notes) lines.push(`Note: ${note}`);
  return lines.join("\n");
}

async function main() {
  const args = parse(process.argv.slice(2));
  if (args.help) return console.log(USAGE);
  const options = { days: wholeNumber("days", args.days, LIMITS.daysMax), limit: wholeNumber("limit", args.limit, LIMITS.finishedMax) };
  if (args.project) {
    Object.assign(options, { project: args.project, collection: args.collection ?? "mail", database: args.database ?? "(default)", emulator: process.env.FIRESTORE_EMULATOR_HOST });
  } else {
    const settings = localSettings();
    if (!(await emulatorAnswers(settings.host))) {
      throw new Error(`No Firestore emulator answers at ${settings.host}. Start the local stack with \`npm start\` in another terminal, or give --project PROJECT_ID.`);
    }
    process.env.FIRESTORE_EMULATOR_HOST = settings.host;
    Object.assign(options, { project: settings.project, collection: args.collection ?? settings.mailCollection, database: args.database ?? settings.database, emulator: settings.host });
  }
  const { initializeApp } = functionsRequire("firebase-admin/app");
  const firestore = functionsRequire("firebase-admin/firestore");
  const db = firestore.getFirestore(initializeApp({ projectId: options.project }), options.database);
  try {
    const result = await report(db, options, firestore);
    console.log(args.json ? JSON.stringify(result, null, 2) : text(result));
  } finally {
    await db.terminate();
  }
}

module.exports = { normaliseError, mailCollection };

if (require.main === module) main().catch(fail);

function fail(error) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /default credentials/i.test(message)
    ? "\nLog in with `gcloud auth application-default login` (an account with the Cloud Datastore Viewer role on the project)."
    : /PERMISSION_DENIED/.test(message)
      ? "\nThe account needs read access to Firestore (the Cloud Datastore Viewer role)."
      : "";
  console.error(`${message}${hint}`);
  process.exit(1);
}
