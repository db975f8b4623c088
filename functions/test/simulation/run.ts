/**
 * `npm run test:simulation`: explores seeded schedules of the delivery core
 * (world.ts) on every core, outside jest so that nothing but the schedules
 * costs time. CI runs 1,000,000 of them; `npm test` runs a few thousand
 * through simulation.test.ts.
 *
 *   npm run test:simulation                        1,000,000 schedules from seed 1
 *   npm run test:simulation -- --schedules=20000   fewer
 *   npm run test:simulation -- --first=500000      from another seed
 *   npm run test:simulation -- --seed=1599         replay one schedule with its trace
 *
 * Exits non-zero at the first schedule that breaks an invariant, after
 * printing its seed, the invariant and the trace of its replay.
 */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";

// The extension logs a JSON line per step through firebase-functions'
// logger, which keeps the console methods that exist when it loads: silence
// them before anything loads it.
for (const method of ["debug", "info", "log", "warn", "error"] as const) console[method] = () => undefined;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { explore, report, runSeed } = require("./explore") as typeof import("./explore");

function option(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return undefined;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} expects a whole number, not "${arg}"`);
  return value;
}

const out = (text: string) => process.stdout.write(`${text}\n`);

interface Done {
  first: number;
  count: number;
  /** The report of the first broken schedule, if any. */
  broken?: string;
}

/** A worker: explores its range and tells the parent. */
async function work(first: number, count: number): Promise<void> {
  const found = await explore(first, count);
  const done: Done = { first, count, broken: found ? report(found) : undefined };
  process.send?.(done);
}

async function main(): Promise<number> {
  const seed = option("seed");
  if (seed !== undefined) {
    const { violation, world } = await runSeed(seed, true);
    out(world.trace.join("\n"));
    out(violation ? `Seed ${seed} broke "${violation.invariant}": ${violation.detail}` : `Seed ${seed} kept every invariant.`);
    return violation ? 1 : 0;
  }
  const first = option("first") ?? 1;
  const total = option("schedules") ?? 1_000_000;
  const workers = Math.max(1, Math.min(option("workers") ?? availableParallelism(), total));
  // Small chunks, handed out as workers finish: a broken schedule is
  // reported soon, and one slow range does not hold the others up.
  const chunk = Math.max(1, Math.min(10_000, Math.ceil(total / workers)));
  let next = first;
  const end = first + total;
  let explored = 0;
  const started = Date.now();
  out(`Exploring ${total.toLocaleString("en")} schedules from seed ${first} on ${workers} workers.`);

  return new Promise<number>((resolve) => {
    let running = 0;
    let failed = false;
    const children = new Set<ReturnType<typeof fork>>();
    const stopAll = (code: number) => {
      for (const child of children) child.kill();
      resolve(code);
    };
    const give = (child: ReturnType<typeof fork>): boolean => {
      if (next >= end || failed) return false;
      const count = Math.min(chunk, end - next);
      child.send({ first: next, count });
      next += count;
      return true;
    };
    for (let i = 0; i < workers; i++) {
      const child = fork(__filename, ["--worker"], { execArgv: process.execArgv });
      children.add(child);
      running++;
      child.on("message", (done: Done) => {
        explored += done.count;
        if (done.broken) {
          failed = true;
          out(done.broken);
          stopAll(1);
          return;
        }
        const seconds = (Date.now() - started) / 1000;
        out(`${explored.toLocaleString("en")} schedules, no invariant broken (${seconds.toFixed(0)} s, ${((seconds * 1000) / explored).toFixed(2)} ms each)`);
        if (!give(child)) child.disconnect();
      });
      child.on("exit", (code) => {
        children.delete(child);
        running--;
        if (code !== 0 && code !== null && !failed) {
          failed = true;
          out(`A simulation worker exited with code ${code}.`);
          stopAll(1);
        } else if (running === 0 && !failed) {
          out(explored === total ? `All ${total.toLocaleString("en")} schedules kept every invariant.` : `Only ${explored} of ${total} schedules ran.`);
          resolve(explored === total ? 0 : 1);
        }
      });
      give(child);
    }
  });
}

if (process.argv.includes("--worker")) {
  process.on("message", (range: { first: number; count: number }) => void work(range.first, range.count));
} else {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(2);
    },
  );
}
