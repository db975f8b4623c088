import { rateLimiter } from "../../../src/tenants/rate-limit";

describe("a profile's rate limit", () => {
  it("lets one second's worth through at once, then spaces messages by 1/rate", async () => {
    // The clock stands still: each later turn is due one interval after the previous one.
    const limiter = rateLimiter(20, () => 0);
    const waits = [];
    for (let i = 0; i < 22; i++) waits.push(await limiter.take(60_000));
    expect(waits.slice(0, 20)).toEqual(Array(20).fill(0));
    expect(waits.slice(20)).toEqual([50, 100]);
  });

  it("gives no turn that would come after the time the mail has left, and does not spend one", async () => {
    let now = 0;
    const limiter = rateLimiter(1, () => now);
    expect(await limiter.take(0)).toBe(0);
    expect(await limiter.take(500)).toBeUndefined();
    now = 1_000;
    expect(await limiter.take(0)).toBe(0);
  });
});
