/**
 * How a function's instances are shared among its versions. A version's demand is its offered load: how
 * often it is invoked times how long an invocation takes, per instance's concurrency, averaged over the
 * last seconds. That does not depend on how many instances it holds (the number waiting would: a version
 * short of instances queues, and its queue would claim more), so the shares it gives are stable. Each
 * version is entitled to the function's instances in proportion, and to one at least while it is invoked.
 * An instance changes version only when its version holds clearly more than its share and another clearly
 * less: a steady mix of versions (a canary at any weight) settles, and then starts nothing new, whatever the
 * request rate.
 *
 * Demand ages with the function's activity, not with the wall clock (`DemandClock`): while nothing of the
 * function runs or waits, its versions' demands stand still. A pause aged them all alike before, until the least
 * invoked (a canary) counted as no longer invoked; as traffic resumed it lost its instance to the others and
 * took one back, a cold start or two after every pause.
 */

/** Demand is averaged over about this long: long enough to ride out bursts, short enough to follow a release. */
export const DEMAND_WINDOW_MS = 5_000;

/** Below this a version's demand counts as none. */
export const NEGLIGIBLE_DEMAND = 1e-6;

/**
 * A version is still invoked while its arrivals, aged, add up to this much: one arrival counts for ~3.5 s of
 * the function's activity, a steady stream for tens of seconds after it stops. Until then it keeps an instance.
 */
const STILL_INVOKED = 0.5;

export interface Demand {
  /** Invocations running or waiting right now. */
  wanted: number;
  /** Invocations that arrived, each counting less as it ages (exponentially, over the window). */
  arrivals: number;
  /** Invocations that ran to their end, counted the same way… */
  ended: number;
  /** …and the milliseconds they ran. */
  ranMs: number;
  at: number;
}

export function newDemand(now: number): Demand {
  return { wanted: 0, arrivals: 0, ended: 0, ranMs: 0, at: now };
}

/** A gap with nothing of the function running or waiting ages its demand by this much at most. */
export const PAUSE_MS = 1_000;

/** A function's demand time: the wall clock's, but for the pauses it skips. */
export interface DemandClock {
  /** The wall clock's time at the function's last arrival or departure… */
  wall: number;
  /** …and the demand time then. */
  time: number;
  /** Invocations of the function running or waiting, every version's. */
  wanted: number;
}

export function newClock(wall: number): DemandClock {
  return { wall, time: wall, wanted: 0 };
}

/** The demand time at wall time `wall`. */
export function demandTime(clock: DemandClock, wall: number): number {
  const gap = Math.max(0, wall - clock.wall);
  return clock.time + (clock.wanted > 0 ? gap : Math.min(gap, PAUSE_MS));
}

function advance(clock: DemandClock, wall: number): number {
  clock.time = demandTime(clock, wall);
  clock.wall = wall;
  return clock.time;
}

function decay(demand: Demand, now: number): void {
  const kept = Math.exp(-Math.max(0, now - demand.at) / DEMAND_WINDOW_MS);
  demand.arrivals *= kept;
  demand.ended *= kept;
  demand.ranMs *= kept;
  demand.at = now;
}

/** An invocation of the version whose `demand` it is arrived, at wall time `wall`. */
export function arrive(clock: DemandClock, demand: Demand, wall: number): void {
  decay(demand, advance(clock, wall));
  demand.arrivals += 1;
  demand.wanted++;
  clock.wanted++;
}

/**
 * An invocation ended after running `durationMs`; undefined when it never ran (refused, or gave up waiting), or
 * when how long it ran tells nothing of its version's invocations (the first on its instance).
 */
export function depart(
  clock: DemandClock,
  demand: Demand,
  wall: number,
  durationMs: number | undefined,
): void {
  const now = advance(clock, wall);
  demand.wanted--;
  clock.wanted--;
  if (durationMs === undefined) return;
  decay(demand, now);
  demand.ended += 1;
  demand.ranMs += durationMs;
}

/**
 * The instances a version keeps busy at demand time `now`: invocations per ms × ms each ÷ invocations an
 * instance takes at once; none once it is no longer invoked, and a little at least while an invocation runs or
 * waits.
 */
export function offeredLoad(demand: Demand, now: number, concurrency: number): number {
  const arrivals = demand.arrivals * Math.exp(-Math.max(0, now - demand.at) / DEMAND_WINDOW_MS);
  if (demand.wanted === 0 && arrivals < STILL_INVOKED) return 0;
  // Until an invocation has ended its length is unknown; a millisecond keeps the version counted.
  const durationMs = Math.max(meanRunMs(demand) ?? 1, 1);
  return Math.max((arrivals / DEMAND_WINDOW_MS) * (durationMs / concurrency), NEGLIGIBLE_DEMAND);
}

/** How long the version's invocations ran, on average over the last seconds; undefined until one has ended. */
export function meanRunMs(demand: Demand): number | undefined {
  return demand.ended > 0 ? demand.ranMs / demand.ended : undefined;
}

/** What each version's demand entitles it to of `capacity` instances: its proportion of the total, unrounded. */
export function entitlements(demands: ReadonlyMap<string, number>, capacity: number): Map<string, number> {
  let total = 0;
  for (const d of demands.values()) if (d >= NEGLIGIBLE_DEMAND) total += d;
  const shares = new Map<string, number>();
  for (const [key, d] of demands) shares.set(key, d >= NEGLIGIBLE_DEMAND ? (capacity * d) / total : 0);
  return shares;
}

/**
 * How far past a rounding boundary an entitlement must move before an instance changes version. Without it, a
 * version entitled to 1.5 instances would take a second one and give it back as its demand wavers by a hair.
 */
const HYSTERESIS = 0.25;

/** Whether a version holding `count` instances, entitled to `share`, may give one up. */
export function mayGive(count: number, share: number): boolean {
  // A version anyone still asks for keeps one instance at least.
  if (share > 0 && count <= 1) return false;
  return count - share >= 0.5 + HYSTERESIS;
}

/** Whether a version holding `count` instances, entitled to `share`, should get another. */
export function shouldGet(count: number, share: number): boolean {
  return count === 0 ? share > 0 : share - count >= 0.5 + HYSTERESIS;
}
