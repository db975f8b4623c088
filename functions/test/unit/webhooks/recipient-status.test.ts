import type { DeliveryReport, RecipientStatus } from "../../../src/webhooks/delivery-report";
import { mergeReport, readEntry, RECENT_IDS, suppressionReason, type RecipientEntry } from "../../../src/webhooks/recipient-status";

let n = 0;
function event(status: RecipientStatus, timeMs: number, extra: Partial<DeliveryReport> = {}): DeliveryReport {
  return { source: "sendgrid", eventId: `e${++n}`, recipient: "ada@example.com", status, timeMs, ...extra };
}
function apply(events: DeliveryReport[]): RecipientEntry | undefined {
  return events.reduce<RecipientEntry | undefined>((entry, e) => mergeReport(entry, e).entry, undefined);
}

describe("mergeReport: precedence", () => {
  // [earlier event, later-arriving event, status that must stand]
  const table: Array<[RecipientStatus, number, RecipientStatus, number, RecipientStatus]> = [
    ["delivered", 10, "deferred", 5, "delivered"],
    ["delivered", 5, "deferred", 10, "delivered"],
    ["bounced", 5, "deferred", 10, "bounced"],
    ["bounced", 10, "delivered", 5, "bounced"],
    ["delivered", 5, "bounced", 10, "bounced"],
    ["deferred", 5, "delivered", 10, "delivered"],
    ["opened", 10, "delivered", 5, "opened"],
    ["clicked", 10, "opened", 20, "clicked"],
    ["opened", 10, "complained", 20, "complained"],
    ["complained", 10, "unsubscribed", 20, "unsubscribed"],
    ["unsubscribed", 20, "complained", 10, "unsubscribed"],
    ["deferred", 5, "deferred", 10, "deferred"],
  ];
  test.each(table)("%s@%i then %s@%i → %s, in either arrival order", (s1, t1, s2, t2, expected) => {
    const a = event(s1, t1);
    const b = event(s2, t2);
    expect(apply([a, b])?.status).toBe(expected);
    expect(apply([b, a])?.status).toBe(expected);
  });

  test("the later of two equal statuses wins, and its details replace the earlier ones", () => {
    const first = event("deferred", 5, { reason: "busy" });
    const second = event("deferred", 9, { reason: "still busy", code: "451" });
    expect(apply([second, first])).toMatchObject({ timeMs: 9, reason: "still busy", code: "451", eventId: second.eventId });
  });

  test("a bounce keeps its type and reason; a stronger event drops them", () => {
    const bounce = event("bounced", 5, { bounceType: "hard", reason: "550 no such user", code: "5.1.1" });
    expect(apply([bounce])).toMatchObject({ bounceType: "hard", reason: "550 no such user", code: "5.1.1" });
    const after = apply([bounce, event("complained", 6)]);
    expect(after).toMatchObject({ status: "complained" });
    expect(after).not.toHaveProperty("bounceType");
  });
});

describe("mergeReport: at-least-once delivery", () => {
  test("the same event twice is not new and changes nothing", () => {
    const delivered = event("delivered", 5);
    const once = mergeReport(undefined, delivered);
    const twice = mergeReport(once.entry, delivered);
    expect(twice).toEqual({ entry: once.entry, isNew: false, becameStatus: false });
  });

  test("a weaker new event is recorded as seen but does not become the status", () => {
    const first = mergeReport(undefined, event("delivered", 5));
    const late = event("deferred", 1);
    const result = mergeReport(first.entry, late);
    expect(result).toMatchObject({ isNew: true, becameStatus: false, entry: { status: "delivered" } });
    expect(result.entry.recentEventIds).toContain(late.eventId);
  });

  test(`only the last ${RECENT_IDS} ids are kept, and an older duplicate still cannot change the status`, () => {
    const events = Array.from({ length: RECENT_IDS + 5 }, (_, i) => event(i === 0 ? "bounced" : "deferred", i, i === 0 ? { bounceType: "hard" } : {}));
    const entry = apply(events)!;
    expect(entry.recentEventIds).toEqual(events.slice(-RECENT_IDS).map((e) => e.eventId));
    const replayed = mergeReport(entry, events[1]);
    expect(replayed.entry.status).toBe("bounced");
    expect(replayed.becameStatus).toBe(false);
  });
});

describe("readEntry", () => {
  const time = { toMillis: () => 1_700_000_000_000 };
  test("reads a stored entry back", () => {
    expect(readEntry({ status: "bounced", time, source: "mailgun", eventId: "x", recentEventIds: ["x", 3], bounceType: "hard", reason: "r" })).toEqual({
      status: "bounced",
      timeMs: 1_700_000_000_000,
      source: "mailgun",
      eventId: "x",
      recentEventIds: ["x"],
      bounceType: "hard",
      reason: "r",
    });
  });
  test.each([[null], ["delivered"], [{ status: "lost", time, source: "s", eventId: "x" }], [{ status: "delivered", time: 5, source: "s", eventId: "x" }]])(
    "anything a client wrote in another shape counts as no entry: %p",
    (value) => expect(readEntry(value)).toBeUndefined(),
  );
});

describe("suppressionReason", () => {
  test.each<[RecipientStatus, DeliveryReport["bounceType"], string | undefined]>([
    ["bounced", "hard", "bounced"],
    ["bounced", "soft", undefined],
    ["complained", undefined, "complained"],
    ["unsubscribed", undefined, "unsubscribed"],
    ["deferred", undefined, undefined],
    ["delivered", undefined, undefined],
    ["opened", undefined, undefined],
  ])("%s (%s) → %s", (status, bounceType, expected) => {
    expect(suppressionReason(event(status, 1, { bounceType }))).toBe(expected);
  });
});
