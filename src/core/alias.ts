import { SluiceError } from './errors.js';
import { type Condition, type ParameterRef, checkCondition, checkParameterRef } from './conditions.js';
import { LATEST, formatVersionRef, parseVersionRef, type VersionRef } from './names.js';
import type { AliasHistoryEntry, AliasRecord } from './model.js';
import { Issues, fieldPath } from './validate.js';

export type WeightCanary = { version: VersionRef; weight: number; sticky?: ParameterRef };
export type RulesCanary = { version: VersionRef; match: 'all' | 'any'; rules: Condition[] };
export type CanarySpec = WeightCanary | RulesCanary;

/** Where an alias sends traffic: a primary version and at most one canary, by weight or by rules. */
export interface AliasSpec {
  version: VersionRef;
  description: string;
  canary?: CanarySpec;
}

export const WEIGHT_STEPS = 10_000;

export function isWeightCanary(canary: CanarySpec): canary is WeightCanary {
  return 'weight' in canary;
}

/** A canary as a request gives it, its fields' types and ranges checked already (the API's schema). */
export interface CanaryInput {
  version: string;
  weight?: number;
  sticky?: ParameterRef;
  match?: 'all' | 'any';
  rules?: Condition[];
}

/** An alias write's body, `{version, description?, canary?}`, its fields' types checked already. */
export interface AliasSpecInput {
  version: string;
  description?: string;
  canary?: CanaryInput | null;
}

function readVersionRef(value: string, path: string, issues: Issues): VersionRef | undefined {
  const ref = parseVersionRef(value);
  if (ref === undefined) issues.add(path, `"${value}" is neither $LATEST nor a version number`);
  return ref;
}

/** A weight in steps of 0.0001, rounded to its step so that it reads back as it was meant. */
function readWeight(value: number, path: string, issues: Issues): number | undefined {
  const steps = value * WEIGHT_STEPS;
  if (Math.abs(steps - Math.round(steps)) > 1e-6) {
    issues.add(path, 'must have at most four decimal places (steps of 0.0001)');
    return undefined;
  }
  // `+ 0` turns -0 into 0.
  return Math.round(steps) / WEIGHT_STEPS + 0;
}

function readCanary(canary: CanaryInput, path: string, issues: Issues): CanarySpec | undefined {
  const version = readVersionRef(canary.version, fieldPath(path, 'version'), issues);
  if (canary.weight !== undefined) {
    if (canary.match !== undefined)
      issues.add(fieldPath(path, 'match'), 'applies to rules only, not to a weight');
    const weight = readWeight(canary.weight, fieldPath(path, 'weight'), issues);
    const sticky = canary.sticky && { source: canary.sticky.source, name: canary.sticky.name };
    if (sticky) checkParameterRef(sticky, fieldPath(path, 'sticky'), issues);
    if (version === undefined || weight === undefined) return undefined;
    return sticky ? { version, weight, sticky } : { version, weight };
  }
  if (canary.sticky !== undefined)
    issues.add(fieldPath(path, 'sticky'), 'applies to a weight only, not to rules');
  const rules = canary.rules ?? [];
  const before = issues.list.length;
  rules.forEach((rule, i) => {
    checkCondition(rule, fieldPath(fieldPath(path, 'rules'), i), issues);
  });
  if (version === undefined || issues.list.length > before) return undefined;
  return { version, match: canary.match ?? 'all', rules };
}

/**
 * An alias's configuration from a write's body: version references read, weights in steps of 0.0001, a mode's
 * fields only with that mode, rule conditions that can hold, and a canary that differs from the primary.
 */
export function parseAliasSpec(input: AliasSpecInput): AliasSpec {
  const issues = new Issues();
  const version = readVersionRef(input.version, 'version', issues);
  const canary = input.canary ? readCanary(input.canary, 'canary', issues) : undefined;
  if (version !== undefined && canary && canary.version === version) {
    issues.add('canary.version', `must differ from the primary version (${formatVersionRef(version)})`);
  }
  issues.throwIfAny('alias');
  const spec: AliasSpec = { version: version as VersionRef, description: input.description ?? '' };
  if (canary) spec.canary = canonicalCanary(canary);
  return spec;
}

function canonicalCanary(canary: CanarySpec): CanarySpec {
  if (isWeightCanary(canary)) {
    const out: WeightCanary = { version: canary.version, weight: canary.weight };
    if (canary.sticky) out.sticky = { source: canary.sticky.source, name: canary.sticky.name };
    return out;
  }
  return {
    version: canary.version,
    match: canary.match,
    rules: canary.rules.map(
      (r) => ({ source: r.source, name: r.name, op: r.op, value: r.value }) as Condition,
    ),
  };
}

/** The versions an alias sends traffic to. */
export function aliasTargets(spec: AliasSpec): VersionRef[] {
  return spec.canary ? [spec.version, spec.canary.version] : [spec.version];
}

/** Refuses an alias that points at a version the function does not have. */
export function assertTargetsExist(
  functionName: string,
  alias: string,
  spec: AliasSpec,
  versions: ReadonlySet<number>,
): void {
  for (const target of aliasTargets(spec)) {
    if (target !== LATEST && !versions.has(target)) {
      throw new SluiceError(
        'VersionNotFound',
        `alias ${alias} cannot point at version ${target} of ${functionName}: no such version`,
        { version: String(target) },
      );
    }
  }
}

export function sameAliasSpec(a: AliasSpec | null, b: AliasSpec | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export type RollbackTarget = { to: 'previous' } | { to: 'primary' } | { to: 'revision'; revision: number };

/**
 * The configuration a rollback writes: the one before the current revision, the current one without its
 * canary, or the one a given revision recorded.
 */
export function planRollback(
  current: AliasRecord,
  history: readonly AliasHistoryEntry[],
  target: RollbackTarget,
): AliasSpec {
  const nothing = (why: string) =>
    new SluiceError('NothingToRollBack', `alias ${current.name} of ${current.functionName}: ${why}`);
  switch (target.to) {
    case 'primary': {
      if (!current.spec.canary) throw nothing('it already sends all traffic to its primary version');
      return { version: current.spec.version, description: current.spec.description };
    }
    case 'previous': {
      const entry = history.find((h) => h.revision === current.revision);
      if (!entry?.before)
        throw nothing(`revision ${current.revision} has no earlier configuration to return to`);
      return entry.before;
    }
    case 'revision': {
      const entry = history.find((h) => h.revision === target.revision);
      if (!entry?.after) {
        throw new SluiceError(
          'InvalidArgument',
          `alias ${current.name} has no revision ${target.revision} to roll back to`,
          [
            {
              path: 'revision',
              message: 'must name a revision in the alias history that set a configuration',
            },
          ],
        );
      }
      if (target.revision === current.revision)
        throw nothing(`revision ${target.revision} is the current one`);
      return entry.after;
    }
  }
}
