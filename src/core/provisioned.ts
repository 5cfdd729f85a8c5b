import { type AliasSpec, isWeightCanary } from './alias.js';
import type { VersionRef } from './names.js';
import { BUCKETS, stableHash } from './stable-hash.js';
import { Issues } from './validate.js';

/** Seed 001: without a ratio, 1 % of a qualifier's provisioned instances are its canary's. */
export const DEFAULT_CANARY_RATIO = 0.01;
/** The most instances one qualifier may ask for across every node. */
export const MAX_PROVISIONED_TARGET = 1000;

/** A fixed fraction of the instances for the canary, or `weight`: the alias's canary weight, as it moves. */
export type CanaryRatio = number | 'weight';

/** How many warm instances a qualifier keeps on the whole platform, and the canary's part of them. */
export interface ProvisionedSpec {
  target: number;
  canaryRatio: CanaryRatio;
}

/**
 * A request for provisioned instances, its fields' types and ranges checked already (the API's schema): the
 * ratio in the routing's steps, which a schema cannot say of a float; 1 % without one, as seed 001 has it.
 */
export function parseProvisionedSpec(input: { target: number; canaryRatio?: CanaryRatio }): ProvisionedSpec {
  const ratio = input.canaryRatio ?? DEFAULT_CANARY_RATIO;
  if (ratio === 'weight') return { target: input.target, canaryRatio: ratio };
  const steps = ratio * BUCKETS;
  if (Math.abs(steps - Math.round(steps)) > 1e-6) {
    const issues = new Issues();
    issues.add('canaryRatio', 'must have at most four decimal places (steps of 0.0001)');
    issues.throwIfAny('provisioned instances');
  }
  return { target: input.target, canaryRatio: Math.round(steps) / BUCKETS + 0 };
}

/**
 * Where a qualifier's traffic goes: one version, or an alias's primary and canary. `weight` is the canary's
 * share of invocations, or undefined when rules choose it (its share is then unknown).
 */
export interface Traffic {
  primary: VersionRef;
  canary?: { version: VersionRef; weight: number | undefined };
}

/** Where an alias sends its traffic. */
export function trafficOfAlias(spec: AliasSpec): Traffic {
  const canary = spec.canary;
  if (!canary) return { primary: spec.version };
  return {
    primary: spec.version,
    canary: { version: canary.version, weight: isWeightCanary(canary) ? canary.weight : undefined },
  };
}

export type ProvisionedRole = 'primary' | 'canary';

/** The instances one version gets of a qualifier's target, on the whole platform. */
export interface VersionShare {
  version: VersionRef;
  role: ProvisionedRole;
  count: number;
}

/**
 * Splits a qualifier's target between the primary and the canary (seed 001): the canary gets
 * `round(target × ratio)`, the primary the rest. With more than one instance, a side that has traffic gets at
 * least one, so that neither ever takes a cold start for its first invocation. `ratio: "weight"` follows the
 * canary's weight; under rules, whose share is unknown, the default ratio applies.
 */
export function splitTarget(target: number, ratio: CanaryRatio, traffic: Traffic): VersionShare[] {
  const canary = traffic.canary;
  if (!canary || canary.version === traffic.primary)
    return [{ version: traffic.primary, role: 'primary', count: target }];
  const weight = canary.weight;
  const fraction = ratio === 'weight' ? (weight ?? DEFAULT_CANARY_RATIO) : ratio;
  // Ratios and weights are in 0.0001 steps: rounding the product there first keeps 0.15 × 10 at 1.5, not 1.4999….
  let count = Math.round(Math.round(target * fraction * BUCKETS) / BUCKETS);
  if (target > 1) {
    const canaryServes = weight === undefined || weight > 0;
    const primaryServes = weight === undefined || weight < 1;
    if (canaryServes && count === 0) count = 1;
    if (primaryServes && count === target) count = target - 1;
  }
  return [
    { version: traffic.primary, role: 'primary', count: target - count },
    { version: canary.version, role: 'canary', count },
  ];
}

/**
 * Deals each version's instances to the live nodes one after another, as cards, from a node that the
 * qualifier's name picks (so that the remainders of many qualifiers do not all land on the first node): every
 * node gets the same number of the qualifier's instances give or take one, and of each version's as well.
 * `nodes` must be in one order on every node (sorted), so that they all deal alike. Returns, for each share,
 * how many instances go to each node, in the order of `nodes`.
 */
export function divideShares(shares: readonly VersionShare[], nodes: number, seed: string): number[][] {
  if (nodes < 1) return shares.map(() => []);
  let next = stableHash(seed) % nodes;
  return shares.map((share) => {
    const counts = new Array<number>(nodes).fill(0);
    for (let i = 0; i < share.count; i++) {
      counts[next] = (counts[next] ?? 0) + 1;
      next = (next + 1) % nodes;
    }
    return counts;
  });
}

/** One version's instances of one qualifier: on the platform, and on one node. */
export interface PlannedVersion extends VersionShare {
  /** This node's part of `count`. */
  local: number;
}

/**
 * What one node keeps of one qualifier's provisioned instances: its target split between the versions its
 * traffic goes to, then divided among the live nodes. `self` is this node's id, which `nodes` must hold.
 */
export function planNode(
  functionName: string,
  qualifier: string,
  spec: ProvisionedSpec,
  traffic: Traffic,
  nodes: readonly string[],
  self: string,
): PlannedVersion[] {
  const order = [...new Set(nodes)].sort();
  const at = order.indexOf(self);
  const shares = splitTarget(spec.target, spec.canaryRatio, traffic);
  const divided = divideShares(shares, order.length, `${functionName}\u0000${qualifier}`);
  return shares.map((share, i) => ({ ...share, local: at < 0 ? 0 : (divided[i]?.[at] ?? 0) }));
}

/** What one node runs of one version of a qualifier's provisioned instances, as it reports it. */
export interface ProvisionedReport {
  functionName: string;
  qualifier: string;
  /** `LATEST` or a version number, as invocations report it. */
  versionId: string;
  role: ProvisionedRole;
  /** This node's part of the version's instances. */
  target: number;
  /** Instances started (ready or starting), ready, and starts that failed since the last that succeeded. */
  started: number;
  ready: number;
  failed: number;
}
