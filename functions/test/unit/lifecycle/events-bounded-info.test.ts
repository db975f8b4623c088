/**
 * An onSuccess event carries `info` as delivery.info recorded it: when the
 * lists were shortened to fit the mail document, the event says so too.
 */
import { boundedInfo } from "../../../src/delivery/bounded-info";
import type { EventData } from "../../../src/lifecycle/events";

const publish = jest.fn(async () => undefined);
jest.mock("firebase-admin/eventarc", () => ({ getEventarc: () => ({ channel: () => ({ publish }) }) }));
jest.mock("firebase-admin/app", () => ({ getApps: () => [], initializeApp: () => ({ name: "[DEFAULT]" }) }));

describe("the info of a lifecycle event", () => {
  beforeAll(() => {
    process.env.EVENTARC_CHANNEL = "projects/demo-events/locations/us-central1/channels/firebase";
  });
  afterAll(() => {
    delete process.env.EVENTARC_CHANNEL;
  });

  test("a shortened info keeps its marker and full counts in the event", async () => {
    const { publish: publishEvent } = (await import("../../../src/lifecycle/events")).createEventarcPublisher();
    const accepted = Array.from({ length: 1000 }, (_, i) => `user${i}@example.com`);
    const info = boundedInfo({ messageId: "<m@x>", accepted, rejected: [], pending: [], response: "250 OK" });
    const data: EventData = { path: "mail/m1", documentId: "m1", state: "SUCCESS", attempts: 1, error: null, info };
    await publishEvent("onSuccess", data);

    const sent = (publish.mock.calls[0] as unknown as [{ data: { info: Record<string, unknown> } }])[0].data.info;
    expect(sent).toEqual({
      messageId: "<m@x>",
      accepted: info.accepted,
      rejected: [],
      pending: [],
      response: "250 OK",
      truncated: true,
      counts: { accepted: 1000, rejected: 0, pending: 0 },
    });
    // What a subscriber reads: fewer addresses than the mail went to, beside the full count.
    expect((sent.accepted as string[]).length).toBeLessThan(accepted.length);
  });
});
