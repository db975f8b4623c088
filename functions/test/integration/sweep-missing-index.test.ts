/**
 * With a wildcard MAIL_COLLECTION the sweep's collection-group queries need
 * single-field indexes with collection-group scope. When one is missing,
 * Firestore refuses that query with FAILED_PRECONDITION and a link to create
 * it: the sweep logs one error naming the index, and its other scan goes on.
 * The emulator needs no index, so the refusal is injected at the store's
 * query seam.
 */
import { Timestamp, type Query, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { testRuntime } from "../helpers/extension-env";
import { MailStore } from "../../src/delivery/store";
import { runMaintenance } from "../helpers/extension-env";
import type { Runtime } from "../../src/delivery/runtime";
import { grpcStatus } from "../../src/shared/firestore-status";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

// The module object itself (not an import's copy of it), so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-sweep-index";
const NOW = Date.now();
const LINK = `https://console.firebase.google.com/v1/r/project/${PROJECT}/firestore/indexes?create_exemption=Cl1wcm9qZWN0cy9kZW1v`;

/** Firestore's refusal of a collection-group query whose index is missing. */
function missingIndex(field: string): Error {
  return Object.assign(
    new Error(`9 FAILED_PRECONDITION: The query requires a COLLECTION_GROUP_ASC index for collection mail and field ${field}. You can create it here: ${LINK}`),
    { code: grpcStatus().FAILED_PRECONDITION },
  );
}

/** A store whose sweep query on `failing` is refused with `error`. */
class RefusingStore extends MailStore {
  constructor(db: MailStore["db"], private readonly failing: string, private readonly error: Error) {
    super(db);
  }

  override duePage(query: Query, field: string, upTo: Timestamp, fields: readonly string[], limit: number, after?: QueryDocumentSnapshot) {
    if (field === this.failing) return Promise.reject(this.error);
    return super.duePage(query, field, upTo, fields, limit, after);
  }
}

describeWithEmulator("the sweep when Firestore refuses one of its queries", () => {
  const db = emulatorFirestore(PROJECT);

  beforeEach(() => configureExtension({ ...SWEEP_PARAMS, MAIL_COLLECTION: "users/{uid}/mail" }));
  afterEach(() => jest.restoreAllMocks());

  function runtimeWith(store: MailStore): Runtime {
    return {
      config: testRuntime.config,
      download: testRuntime.download,
      templates: testRuntime.templates,
      store: () => store,
      transport: () => {
        throw new Error("the sweep never sends");
      },
      lifecycle: { enabled: () => false, publish: async () => undefined },
    };
  }

  async function seed(): Promise<void> {
    await db.doc("users/u1/mail/due").set({ to: "a@example.com", delivery: { state: "PENDING", attempts: 0, nextAttemptTime: Timestamp.fromMillis(NOW - 1000) } });
    await db.doc("users/u1/mail/dead").set({ to: "a@example.com", delivery: { state: "PROCESSING", attempts: 0, leaseExpireTime: Timestamp.fromMillis(NOW - 600_000) } });
  }

  test("a missing index: one error names the collection group, the field and Firestore's link; the other scan goes on", async () => {
    const error = jest.spyOn(functionsLogger, "error");
    await seed();
    const store = new RefusingStore(db, "delivery.nextAttemptTime", missingIndex("delivery.nextAttemptTime"));

    const report = await runMaintenance(afterLeases(), {}, runtimeWith(store));
    expect(report).toMatchObject({ expired: 1, released: 0 });
    expect((await db.doc("users/u1/mail/dead").get()).get("delivery.state")).toBe("ERROR");

    expect(error).toHaveBeenCalledTimes(1);
    const [line, fields] = error.mock.calls[0];
    expect(line).toContain('collection group "mail"');
    expect(line).toContain('"delivery.nextAttemptTime"');
    expect(line).toContain(LINK);
    expect(fields).toMatchObject({ code: "sweep-index-missing", collectionGroup: "mail", field: "delivery.nextAttemptTime", link: LINK });
  });

  test("without a link in Firestore's message the error still names the index", async () => {
    const error = jest.spyOn(functionsLogger, "error");
    await seed();
    const refusal = Object.assign(new Error("9 FAILED_PRECONDITION: "), { code: grpcStatus().FAILED_PRECONDITION });
    const report = await runMaintenance(afterLeases(), {}, runtimeWith(new RefusingStore(db, "delivery.leaseExpireTime", refusal)));
    expect(report).toMatchObject({ expired: 0, released: 1 });
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0][0]).toContain('collection group "mail"');
    expect(error.mock.calls[0][0]).toContain('"delivery.leaseExpireTime"');
    expect(error.mock.calls[0][1]).toMatchObject({ field: "delivery.leaseExpireTime", link: null });
  });

  test("any other failure of one scan fails the run, once the other scan has finished", async () => {
    await seed();
    const outage = Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: grpcStatus().UNAVAILABLE });
    const store = new RefusingStore(db, "delivery.nextAttemptTime", outage);
    await expect(runMaintenance(afterLeases(), {}, runtimeWith(store))).rejects.toBe(outage);
    expect((await db.doc("users/u1/mail/dead").get()).get("delivery.state")).toBe("ERROR");
  });
});
