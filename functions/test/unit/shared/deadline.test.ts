/**
 * withDeadline: the one bound on every send, lookup and publish.
 */
import { formatDuration, withDeadline } from "../../../src/shared/deadline";

describe("withDeadline", () => {
  test("passes through what the work resolves with in time", async () => {
    await expect(withDeadline(async () => "sent", 1_000, () => new Error("late"))).resolves.toBe("sent");
  });

  test("passes through the work's own failure in time", async () => {
    await expect(withDeadline(() => Promise.reject(new Error("refused")), 1_000, () => new Error("late"))).rejects.toThrow("refused");
  });

  test("rejects with the timeout error and aborts the work's signal with it", async () => {
    let seen: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      seen = signal;
      // Settles only when aborted, as a send on a stalled connection does.
      return new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
    };
    const timeout = new Error("no answer");
    await expect(withDeadline(work, 20, () => timeout)).rejects.toBe(timeout);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(timeout);
  });
});

test("formatDuration reads as people write durations", () => {
  expect([formatDuration(40_000), formatDuration(1_500), formatDuration(300)]).toEqual(["40 s", "1.5 s", "300 ms"]);
});
