/**
 * The simulation tier: seeded schedules of the delivery core (see world.ts).
 * SIM_SCHEDULES sets how many (default 2,000 in `npm test`; CI's
 * `npm run test:simulation` runs more), SIM_FIRST the first seed, and
 * SIM_SEED=N replays one schedule with its trace (or, outside jest,
 * `npm run test:simulation -- --seed=N`; see run.ts).
 */
import { explore, report, runSeed } from "./explore";

jest.mock("firebase-functions/logger", () => ({ debug() {}, info() {}, log() {}, warn() {}, error() {}, write() {} }));

const single = process.env.SIM_SEED;
const first = Number(process.env.SIM_FIRST ?? 1);
const count = Number(process.env.SIM_SCHEDULES ?? 2_000);

jest.setTimeout(6 * 60 * 60 * 1000);

if (single !== undefined) {
  test(`schedule ${single}`, async () => {
    const { violation, world } = await runSeed(Number(single), true);
    process.stdout.write(`${world.trace.join("\n")}\n`);
    expect(violation).toBeUndefined();
  });
} else {
  test(`${count} seeded schedules from seed ${first} keep every invariant`, async () => {
    const found = await explore(first, count);
    if (found) throw new Error(report(found));
  });
}
