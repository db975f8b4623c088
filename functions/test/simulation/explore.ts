/**
 * Runs seeded schedules of the simulated world and reports the first one
 * that breaks an invariant, with its trace. Each seed fixes everything about
 * its schedule (the instance's MAX_ATTEMPTS, how many mails, every choice),
 * so a failing seed replays exactly:
 *   npm run test:simulation -- --seed=<seed>
 */
import { World, type WorldOptions } from "./world";
import type { Violation } from "./invariants";

export interface Found {
  seed: number;
  options: WorldOptions;
  violation: Violation;
  trace: string[];
}

/** The world a seed describes: half the seeds run with automatic retries, one in four has a mail sent as one message per recipient. */
export function optionsFor(seed: number, trace = false): WorldOptions {
  return {
    seed,
    maxAttempts: seed % 2 === 0 ? 1 : 3,
    mails: seed % 5 === 0 ? 2 : 1,
    chaosSteps: 40 + (seed % 7) * 10,
    personActions: seed % 3,
    separateRecipients: seed % 4 === 1 ? 12 : 0,
    trace,
  };
}

export async function runSeed(seed: number, trace = false): Promise<{ violation?: Violation; world: World }> {
  const world = new World(optionsFor(seed, trace));
  const violation = await world.run();
  return { violation, world };
}

/** Explores `count` schedules from `first`; stops at the first violation and replays it with a trace. */
export async function explore(first: number, count: number): Promise<Found | undefined> {
  for (let seed = first; seed < first + count; seed++) {
    const { violation } = await runSeed(seed);
    if (violation) {
      const replay = await runSeed(seed, true);
      return { seed, options: optionsFor(seed), violation: replay.violation ?? violation, trace: replay.world.trace };
    }
  }
  return undefined;
}

export function report(found: Found): string {
  return [
    `Invariant "${found.violation.invariant}" broken by seed ${found.seed}: ${found.violation.detail}`,
    `World: ${JSON.stringify(found.options)}`,
    `Replay: npm run test:simulation -- --seed=${found.seed}`,
    "Trace:",
    ...found.trace,
  ].join("\n");
}

/**
 * Runs every seed in the range and groups the violations found by the hole
 * of issue 17 they show (see classify), with the first seeds of each: how the
 * holes were found on the code before their fixes.
 */
export async function survey(first: number, count: number): Promise<Map<string, { seeds: number[]; count: number }>> {
  const kinds = new Map<string, { seeds: number[]; count: number }>();
  for (let seed = first; seed < first + count; seed++) {
    const { violation, world } = await runSeed(seed);
    if (!violation) continue;
    const kind = classify(violation, world);
    const entry = kinds.get(kind) ?? { seeds: [], count: 0 };
    entry.count++;
    if (entry.seeds.length < 5) entry.seeds.push(seed);
    kinds.set(kind, entry);
  }
  return kinds;
}

/** Which hole a violation shows, from what the world recorded. */
export function classify(violation: Violation, world: World): string {
  const { invariant, detail } = violation;
  if (invariant === "finished") {
    const state = /still (\S+)/.exec(detail)?.[1];
    return state === "null" ? "2: the first invocation failed before PENDING; no delivery field, never looked at again" : `2: left ${state} with nothing to find it again`;
  }
  if (invariant === "events once") return `5: two claims both won (${detail.replace(/mail\/m\d: /, "").replace(/\d+/g, "n")})`;
  const sends = world.provider.sends;
  const path = /mail\/m\d/.exec(detail)?.[0];
  const ofMail = sends.filter((s) => s.mailPath === path);
  const accepted = ofMail.find((s) => s.accepted);
  if (world.invariants.requestsDuringAttempt > 0 && invariant !== "truthful") return `1: a person's RETRY/PENDING during a live attempt (${invariant})`;
  if (invariant === "truthful") return accepted?.ending === "timeout-after-accept" ? "3: an unknown outcome recorded as a plain ERROR" : `truthful: ${detail}`;
  if (accepted?.ending === "timeout-after-accept") return `3: an unknown outcome sent again (${invariant})`;
  if (accepted?.ending === "crash") return `3: an attempt that died after the provider accepted, retried by lease expiry (${invariant})`;
  const claimsInOneMs = new Set(ofMail.map((s) => s.startedAt)).size < ofMail.length;
  if (claimsInOneMs) return `5: two claims in one millisecond both won (${invariant})`;
  return `4: an answered send whose outcome write was still running when its lease was called expired (${invariant})`;
}
