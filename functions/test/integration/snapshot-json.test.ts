/**
 * Pins the `doc` of lifecycle events against the real library: what
 * lifecycle/written-document.ts builds in memory must equal what
 * firebase-admin renders under JSON.stringify for the same document read
 * from the emulator, for every Firestore value type and after every kind of
 * delivery write.
 */
import { FieldValue, GeoPoint, Timestamp, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import {
  claimPatch,
  errorPatch,
  newDocumentErrorPatch,
  pendingPatch,
  replaceDeliveryWithErrorPatch,
  retryPatch,
  successPatch,
  type Patch,
} from "../../src/delivery/patches";
import { afterWrite, type DocumentVersion } from "../../src/lifecycle/written-document";
import { dataJson, projectIdOf, snapshotJson } from "../../src/lifecycle/written-document";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";

const PROJECT = "demo-snapshot-json";
const NOW = Date.now();

/** The snapshot's JSON as firebase-admin renders it; our versions are read at their update time. */
function realSnapshotJson(snapshot: DocumentSnapshot): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(snapshot)) as Record<string, unknown>;
  return { ...json, _readTime: json._updateTime };
}

function versionOf(db: Firestore, snapshot: DocumentSnapshot): DocumentVersion {
  return {
    path: snapshot.ref.path,
    projectId: projectIdOf(db),
    data: snapshot.data() ?? {},
    createTime: snapshot.createTime!,
    updateTime: snapshot.updateTime!,
  };
}

describeWithEmulator("event documents against firebase-admin", () => {
  const db = emulatorFirestore(PROJECT);

  test("every Firestore value type serialises as firebase-admin serialises it", async () => {
    const ref = db.doc("mail/every-type");
    await ref.set({
      string: "a@b.c",
      emptyString: "",
      integer: 42,
      zero: 0,
      negative: -7,
      double: 1.5,
      negativeZero: -0,
      notANumber: NaN,
      infinity: Infinity,
      large: 2 ** 60,
      boolean: true,
      falseValue: false,
      nullValue: null,
      timestamp: Timestamp.fromMillis(1_700_000_000_123),
      beforeEpoch: new Timestamp(-5, 7),
      date: new Date(1_700_000_000_000),
      serverTime: FieldValue.serverTimestamp(),
      map: { a: 1, nested: { x: "y", list: [true, null] } },
      emptyMap: {},
      array: [1, "two", { three: 3 }, 4.25, Timestamp.fromMillis(5)],
      emptyArray: [],
      bytes: Buffer.from("hi"),
      emptyBytes: Buffer.alloc(0),
      reference: db.doc("users/u1"),
      geopoint: new GeoPoint(48.8566, -2.25),
      origin: new GeoPoint(0, 0),
      vector: FieldValue.vector([1, 2.5]),
    });
    const snapshot = await ref.get();
    const version = versionOf(db, snapshot);

    expect(snapshotJson(version)).toEqual(realSnapshotJson(snapshot));
    expect(dataJson(version.data)).toEqual(JSON.parse(JSON.stringify(snapshot.data())));
    // What the issue recorded from the original, spelled out once.
    expect(snapshotJson(version)).toMatchObject({
      _fieldsProto: { string: { stringValue: "a@b.c", valueType: "stringValue" } },
      _ref: { _path: { segments: ["mail", "every-type"] } },
      _createTime: { _seconds: expect.any(Number), _nanoseconds: expect.any(Number) },
    });
  });

  const info = { messageId: "<m@x>", accepted: ["a@example.com"], rejected: [], pending: [], response: "250 OK" };
  const mail = { to: ["a@example.com"], message: { subject: "s", text: "t" } };
  const writes: Array<[string, Record<string, unknown>, Patch]> = [
    ["pending", mail, pendingPatch(NOW, "attempt-1", Timestamp.fromMillis(NOW + 86_400_000))],
    ["claim", { ...mail, delivery: { state: "PENDING", attempts: 0, nextAttemptTime: null } }, claimPatch(NOW, "attempt-2").patch],
    ["success", { ...mail, delivery: { state: "PROCESSING", attempts: 1, error: "old" } }, successPatch(info)],
    ["error", { ...mail, delivery: { state: "PROCESSING", attempts: 0, info } }, errorPatch("550 refused", true)],
    ["retry", { ...mail, delivery: { state: "PROCESSING", attempts: 0 } }, retryPatch("421 busy", NOW + 60_000)],
    ["reject", mail, newDocumentErrorPatch(NOW, 'Invalid field "to".')],
    ["replace", { ...mail, delivery: "broken" }, replaceDeliveryWithErrorPatch(NOW, "Unknown delivery")],
    ["nested below a non-map", { ...mail, delivery: "broken" }, { "delivery.state": "PENDING" }],
  ];

  test.each(writes)("the document after a %s write is the one Firestore stores", async (name, data, patch) => {
    const ref = db.doc(`mail/${name.replace(/\W+/g, "-")}`);
    await ref.set(data);
    const before = await ref.get();
    const written = await ref.update(patch, { lastUpdateTime: before.updateTime });
    const after = await ref.get();
    expect(after.updateTime!.isEqual(written.writeTime)).toBe(true);

    const built = afterWrite(versionOf(db, before), patch, written.writeTime);
    // The server timestamp Firestore stored is the time it processed the
    // request, which the write result does not return: the commit time stands
    // in for it, a few milliseconds late. Everything else must match exactly.
    const stored = after.get("delivery.endTime") as Timestamp | undefined;
    const guessed = (built.data.delivery as { endTime?: Timestamp } | undefined)?.endTime;
    expect(guessed === undefined).toBe(stored === undefined);
    if (stored && guessed) {
      expect(guessed.toMillis() - stored.toMillis()).toBeGreaterThanOrEqual(0);
      expect(guessed.toMillis() - stored.toMillis()).toBeLessThan(1_000);
      expect(guessed.nanoseconds % 1_000_000).toBe(0);
      (built.data.delivery as { endTime: Timestamp }).endTime = stored;
    }
    expect(snapshotJson(built)).toEqual(realSnapshotJson(after));
    expect(dataJson(built.data)).toEqual(JSON.parse(JSON.stringify(after.data())));
  });
});
