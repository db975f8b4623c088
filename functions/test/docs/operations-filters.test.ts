/**
 * docs/operations.md against the log lines src/shared/logs.ts writes: every
 * field and value its filters match on is one a line carries (a metric whose
 * filter names a field nobody writes counts nothing, and its alert never
 * fires), every alert counts a metric the page creates, and the page's
 * tables name every event and field with the severity it is logged at.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { emitEveryLine, type LogLine } from "../helpers/log-lines";
import { ROOT } from "./doc-examples";

const PAGE = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");
const lines: LogLine[] = emitEveryLine();

/** `field=value` for every string or boolean field of every line. */
const emitted = new Set(lines.flatMap((line) => Object.entries(line.fields).filter(([, value]) => typeof value === "string" || typeof value === "boolean").map(([field, value]) => `${field}=${String(value)}`)));

/** The `SERVICES` prefix the metric commands share, as the shell sees it. */
function servicesPrefix(page: string): string {
  const match = /^SERVICES='([^']*)'$/m.exec(page);
  if (!match) throw new Error("docs/operations.md defines no SERVICES='…' filter prefix");
  return match[1];
}

/** Each `gcloud logging metrics create NAME … --log-filter=…` command: its metric name and its filter as gcloud receives it. */
export function metricCommands(page: string): Array<{ name: string; filter: string }> {
  const services = servicesPrefix(page);
  const commands = page.split(/^gcloud logging metrics create /m).slice(1);
  return commands.map((command) => {
    const name = /^(\S+)/.exec(command)![1];
    const filter = /--log-filter="\$SERVICES"'([^']*)'/.exec(command);
    if (!filter) throw new Error(`the metric ${name} has no --log-filter="$SERVICES"'…' this test can read`);
    return { name, filter: services + filter[1] };
  });
}

/** The clauses of a filter joined by AND, each one of the shapes the page may use. */
export function clauses(filter: string): Array<{ kind: "jsonPayload"; field: string; value: string } | { kind: "severity"; level: string } | { kind: "resource"; text: string }> {
  return filter.split(" AND ").map((clause) => {
    const payload = /^jsonPayload\.([A-Za-z]+)="([^"]*)"$/.exec(clause);
    if (payload) return { kind: "jsonPayload", field: payload[1], value: payload[2] };
    const severity = /^severity>=([A-Z]+)$/.exec(clause);
    if (severity) return { kind: "severity", level: severity[1] };
    if (clause === 'resource.type="cloud_run_revision"' || clause === 'resource.labels.service_name=~"^ext-firestore-send-email-"') return { kind: "resource", text: clause };
    throw new Error(`a clause this test does not know: ${clause}`);
  });
}

/** The rows of the markdown table whose header starts with `header`: their cells. */
function tableRows(page: string, header: string): string[][] {
  const start = page.indexOf(`\n${header}`);
  if (start < 0) throw new Error(`no table starting with ${header}`);
  const rows: string[][] = [];
  for (const row of page.slice(start + 1).split("\n").slice(2)) {
    if (!row.startsWith("|")) break;
    rows.push(row.split(" | ").map((cell) => cell.replace(/^\|\s*|\s*\|$/g, "").trim()));
  }
  return rows;
}

const code = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1] ?? cell;

describe("docs/operations.md", () => {
  const metrics = metricCommands(PAGE);

  test("the metric commands are found, each with a filter", () => {
    expect(metrics.map((metric) => metric.name)).toEqual(
      expect.arrayContaining(["send-email-mail-errors", "send-email-lease-expiries", "send-email-unknown-outcomes", "send-email-hard-bounces", "send-email-complaints", "send-email-sweep-out-of-budget"]),
    );
    expect(PAGE.match(/--log-filter=/g)).toHaveLength(metrics.length);
  });

  test.each(metricCommands(PAGE).map((metric) => [metric.name, metric.filter]))("%s matches fields and values the extension logs", (_name, filter) => {
    const parts = clauses(filter);
    expect(parts).toEqual(expect.arrayContaining([{ kind: "resource", text: 'resource.type="cloud_run_revision"' }]));
    for (const part of parts) {
      if (part.kind === "jsonPayload") expect(emitted).toContain(`${part.field}=${part.value}`);
      if (part.kind === "severity") expect(lines.map((line) => line.severity)).toContain(part.level);
    }
    // A filter of the prefix alone would count every line of the instance.
    expect(parts.some((part) => part.kind !== "resource")).toBe(true);
  });

  test("every jsonPayload field and value the page names anywhere (examples included) is logged", () => {
    const named = [...PAGE.matchAll(/jsonPayload\.([A-Za-z]+)="([^"]*)"/g)].map((match) => `${match[1]}=${match[2]}`);
    expect(named.length).toBeGreaterThan(metrics.length);
    for (const pair of named) expect(emitted).toContain(pair);
  });

  test("each alert counts a metric the page creates, and the alerts cover what operators are asked to watch", () => {
    const alerts = [...PAGE.matchAll(/^alert "([^"]+)" (\S+) (\d+) (\d+)$/gm)].map((match) => ({ name: match[1], metric: match[2], threshold: Number(match[3]), window: Number(match[4]) }));
    const created = new Set(metrics.map((metric) => metric.name));
    for (const alert of alerts) {
      expect(created).toContain(alert.metric);
      // Cloud Monitoring's alignment period for alerting: 60 s to 25 h.
      expect(alert.window).toBeGreaterThanOrEqual(60);
      expect(alert.window).toBeLessThanOrEqual(90_000);
    }
    const watched = alerts.map((alert) => metrics.find((metric) => metric.name === alert.metric)!.filter);
    for (const needed of [
      'jsonPayload.state="ERROR"',
      'jsonPayload.event="lease-expired"',
      'jsonPayload.code="outcome-unknown"',
      'jsonPayload.bounceType="hard"',
      'jsonPayload.recipientStatus="complained"',
      'jsonPayload.event="sweep-out-of-budget"',
    ]) {
      expect(watched.filter((filter) => filter.includes(needed))).toHaveLength(1);
    }
  });

  test("the table of events lists every event the extension logs, at the severity it is logged at", () => {
    const rows = tableRows(PAGE, "| `event` | Severity |");
    const documented = new Map(rows.map((cells) => [code(cells[0]), cells[1]]));
    const logged = new Map(lines.map((line) => [String(line.fields.event), line.severity]));
    expect([...documented.keys()].sort()).toEqual([...logged.keys()].sort());
    for (const [event, severity] of logged) expect([event, documented.get(event)]).toEqual([event, severity]);
  });

  test("the table of common fields names fields the lines carry", () => {
    const fields = tableRows(PAGE, "| Field |").map((cells) => code(cells[0]));
    expect(fields).toEqual(["event", "mailPath", "state", "code", "provider", "profile"]);
    for (const field of fields) expect(lines.some((line) => field in line.fields)).toBe(true);
  });
});

describe("the filter reader", () => {
  test("reads a metric's filter as the shell passes it, and refuses a clause it does not know", () => {
    const page = ["SERVICES='resource.type=\"cloud_run_revision\"'", "gcloud logging metrics create m1 --project=\"$PROJECT\" \\", "  --log-filter=\"$SERVICES\"' AND jsonPayload.event=\"x\"'", ""].join("\n");
    expect(metricCommands(page)).toEqual([{ name: "m1", filter: 'resource.type="cloud_run_revision" AND jsonPayload.event="x"' }]);
    expect(() => clauses('jsonPayload.event="x" OR jsonPayload.event="y"')).toThrow("a clause this test does not know");
    expect(() => clauses("textPayload:boom")).toThrow("a clause this test does not know");
  });
});
