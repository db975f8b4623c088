/**
 * The document an event carries is rebuilt from the version acted on and the
 * writes made, without reading it back. Each row applies a real delivery
 * patch (or a Firestore transform) and states the resulting fields; that the
 * emulator agrees is checked in test/integration/snapshot-json.test.ts.
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import {
  claimPatch,
  errorPatch,
  newDocumentErrorPatch,
  pendingPatch,
  retryPatch,
  successPatch,
} from "../../../src/delivery/patches";
import { afterWrite, REDACTED, withoutSecrets, type DocumentVersion } from "../../../src/lifecycle/written-document";

const NOW = Date.UTC(2026, 0, 31, 9, 30, 0);
const CREATED = Timestamp.fromMillis(NOW - 5_000);
const READ = Timestamp.fromMillis(NOW - 1_000);
const COMMIT = new Timestamp(Math.floor(NOW / 1000) + 1, 123_456_789);
/** Firestore resolves a server timestamp to the millisecond. */
const SERVER_TIME = new Timestamp(COMMIT.seconds, 123_000_000);

function version(data: Record<string, unknown>): DocumentVersion {
  return { path: "mail/m1", projectId: "demo-p", data, createTime: CREATED, updateTime: READ };
}

const mail = { to: "a@example.com", message: { subject: "s", text: "t" } };
const info = { messageId: "<m@x>", accepted: ["a@example.com"], rejected: [], pending: [], response: "250 OK" };

describe("afterWrite", () => {
  const rows: Array<[string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]> = [
    [
      "a map value replaces the field whole",
      { ...mail, delivery: { state: "ERROR", stale: true } },
      pendingPatch(NOW, "attempt-id"),
      {
        ...mail,
        delivery: {
          state: "PENDING",
          startTime: Timestamp.fromMillis(NOW),
          attempts: 0,
          error: null,
          attemptId: "attempt-id",
          nextAttemptTime: (pendingPatch(NOW, "attempt-id").delivery as Record<string, unknown>).nextAttemptTime,
        },
      },
    ],
    [
      "dotted paths set nested fields and FieldValue.delete() removes one",
      { ...mail, delivery: { state: "PENDING", attempts: 0, nextAttemptTime: null } },
      claimPatch(NOW, "attempt-id").patch,
      {
        ...mail,
        delivery: {
          state: "PROCESSING",
          attempts: 0,
          startTime: Timestamp.fromMillis(NOW),
          leaseExpireTime: claimPatch(NOW, "attempt-id").lease,
          attemptId: "attempt-id",
        },
      },
    ],
    [
      "serverTimestamp() is the commit time to the millisecond and increment(1) adds to the count",
      { ...mail, delivery: { state: "PROCESSING", attempts: 2, leaseExpireTime: READ } },
      successPatch(info),
      { ...mail, delivery: { state: "SUCCESS", attempts: 3, endTime: SERVER_TIME, leaseExpireTime: null, error: null, info } },
    ],
    [
      "increment on a missing or non-numeric field sets the amount",
      { ...mail, delivery: { state: "PROCESSING", attempts: "two" } },
      { "delivery.attempts": FieldValue.increment(1), "delivery.count": FieldValue.increment(2.5) },
      { ...mail, delivery: { state: "PROCESSING", attempts: 1, count: 2.5 } },
    ],
    [
      "delete removes info; deleting below a missing map changes nothing",
      { ...mail, delivery: { state: "PROCESSING", attempts: 0, info } },
      { ...errorPatch("550 refused", true), "nothing.here": FieldValue.delete() },
      { ...mail, delivery: { state: "ERROR", attempts: 1, endTime: SERVER_TIME, leaseExpireTime: null, error: "550 refused" } },
    ],
    [
      "a transform inside a replacing map starts from nothing",
      mail,
      newDocumentErrorPatch(NOW, 'Invalid field "to".'),
      {
        ...mail,
        delivery: {
          state: "ERROR",
          startTime: Timestamp.fromMillis(NOW),
          attempts: 1,
          error: 'Invalid field "to".',
          endTime: SERVER_TIME,
          leaseExpireTime: null,
        },
      },
    ],
    [
      "a nested path below a field that is not a map replaces it with a map",
      { ...mail, delivery: "broken" },
      { "delivery.state": "PENDING" },
      { ...mail, delivery: { state: "PENDING" } },
    ],
    [
      "a retry goes back to PENDING with the error and the next attempt's time",
      { ...mail, delivery: { state: "PROCESSING", attempts: 0, info } },
      retryPatch("421 busy", NOW + 60_000),
      {
        ...mail,
        delivery: {
          state: "PENDING",
          attempts: 1,
          leaseExpireTime: null,
          error: "421 busy",
          nextAttemptTime: Timestamp.fromMillis(NOW + 60_000),
        },
      },
    ],
  ];

  test.each(rows)("%s", (_name, data, patch, expected) => {
    const next = afterWrite(version(data), patch, COMMIT);
    expect(next.data).toEqual(expected);
    expect(next.updateTime).toBe(COMMIT);
    expect(next.createTime).toBe(CREATED);
  });

  test("the version acted on is left unchanged", () => {
    const data = { ...mail, delivery: { state: "PENDING", attempts: 0 } };
    const before = JSON.stringify(data);
    afterWrite(version(data), claimPatch(NOW, "attempt-id").patch, COMMIT);
    expect(JSON.stringify(data)).toBe(before);
  });

  test("writes chain: pending, claim, then success", () => {
    const pending = afterWrite(version(mail), pendingPatch(NOW, "attempt-id"), Timestamp.fromMillis(NOW + 1));
    const claimed = afterWrite(pending, claimPatch(NOW, "attempt-id").patch, Timestamp.fromMillis(NOW + 2));
    const done = afterWrite(claimed, successPatch(info), COMMIT);
    expect(done.data.delivery).toMatchObject({ state: "SUCCESS", attempts: 1, endTime: SERVER_TIME, info });
    expect(pending.data.delivery).toMatchObject({ state: "PENDING" });
  });

  test("a transform it cannot model is refused, not guessed", () => {
    expect(() => afterWrite(version(mail), { tags: FieldValue.arrayUnion("x") }, COMMIT)).toThrow(/arrayUnion/);
  });
});

describe("withoutSecrets", () => {
  test("attachment httpHeaders values are redacted, names and everything else kept", () => {
    const data = {
      ...mail,
      message: {
        subject: "s",
        attachments: [
          { filename: "a.pdf", path: "https://files.example.com/a.pdf", httpHeaders: { Authorization: "Bearer s3cr3t" } },
          { filename: "b.txt", content: "b" },
        ],
      },
    };
    const shown = withoutSecrets(data);
    expect(JSON.stringify(shown)).not.toContain("s3cr3t");
    expect(shown.message).toEqual({
      subject: "s",
      attachments: [
        { filename: "a.pdf", path: "https://files.example.com/a.pdf", httpHeaders: { Authorization: REDACTED } },
        { filename: "b.txt", content: "b" },
      ],
    });
    // The document itself is left as it is.
    expect(JSON.stringify(data)).toContain("Bearer s3cr3t");
  });

  test("a document without attachments is returned as it is", () => {
    expect(withoutSecrets(mail)).toBe(mail);
  });
});
