import { SluiceError } from './errors.js';
import {
  type Condition,
  type ParameterRef,
  checkCondition,
  checkParameterRef,
  RULE_LIMITS,
} from './conditions.js';
import { LATEST, formatVersionRef, parseVersionRef, type VersionRef } from './names.js';
import type { AliasHistoryEntry, AliasRecord } from './model.js';
import { Issues, checkString, describeType, fieldPath, readObject, requireField } from './validate.js';

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

function readVersionRef(value: unknown, path: string, issues: Issues): VersionRef | undefined {
  if (typeof value !== 'string') {
    issues.add(
      path,
      `must be a string ("$LATEST" or a version number such as "1"), not ${describeType(value)}`,
    );
    return undefined;
  }
  const ref = parseVersionRef(value);
  if (ref === undefined) issues.add(path, `"${value}" is neither $LATEST nor a version number`);
  return ref;
}

/** Validates a weight: a fraction in [0, 1] with at most four decimal places (0.0001 steps). */
function readWeight(value: unknown, path: string, issues: Issues): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.add(path, `must be a number from 0 to 1, not ${describeType(value)}`);
    return undefined;
  }
  if (value < 0 || value > 1) {
    issues.add(path, `must be a fraction from 0 to 1 (0.1 = 10 %), not ${value}`);
    return undefined;
  }
  const steps = value * WEIGHT_STEPS;
  if (Math.abs(steps - Math.round(steps)) > 1e-6) {
    issues.add(path, 'must have at most four decimal places (steps of 0.0001)');
    return undefined;
  }
  // `+ 0` turns -0 into 0, so that a weight reads back as it was meant.
  return Math.round(steps) / WEIGHT_STEPS + 0;
}

function readCanary(value: unknown, path: string, issues: Issues): CanarySpec | undefined {
  const obj = readObject(value, path, issues, ['version', 'weight', 'sticky', 'match', 'rules']);
  if (!obj) return undefined;
  const versionValue = requireField(obj, 'version', path, issues);
  const version =
    versionValue === undefined ? undefined : readVersionRef(versionValue, fieldPath(path, 'version'), issues);
  const hasWeight = obj.weight !== undefined;
  const hasRules = obj.rules !== undefined;
  if (hasWeight === hasRules) {
    issues.add(path, 'must have exactly one of weight (a fraction of traffic) or rules (conditions)');
    return undefined;
  }
  if (hasWeight) {
    if (obj.match !== undefined)
      issues.add(fieldPath(path, 'match'), 'applies to rules only, not to a weight');
    const weight = readWeight(obj.weight, fieldPath(path, 'weight'), issues);
    let sticky: ParameterRef | undefined;
    if (obj.sticky !== undefined) {
      const stickyPath = fieldPath(path, 'sticky');
      const ref = readObject(obj.sticky, stickyPath, issues, ['source', 'name']);
      if (ref) {
        checkParameterRef(ref, stickyPath, issues);
        sticky = { source: ref.source, name: ref.name } as ParameterRef;
      }
    }
    if (version === undefined || weight === undefined) return undefined;
    return sticky ? { version, weight, sticky } : { version, weight };
  }
  if (obj.sticky !== undefined)
    issues.add(fieldPath(path, 'sticky'), 'applies to a weight only, not to rules');
  const match = obj.match ?? 'all';
  if (match !== 'all' && match !== 'any') issues.add(fieldPath(path, 'match'), 'must be "all" or "any"');
  const rulesPath = fieldPath(path, 'rules');
  if (!Array.isArray(obj.rules)) {
    issues.add(rulesPath, `must be a list of conditions, not ${describeType(obj.rules)}`);
    return undefined;
  }
  if (obj.rules.length === 0 || obj.rules.length > RULE_LIMITS.conditions) {
    issues.add(rulesPath, `must hold between 1 and ${RULE_LIMITS.conditions} conditions`);
  }
  const before = issues.list.length;
  obj.rules.forEach((rule, i) => {
    checkCondition(rule, fieldPath(rulesPath, i), issues);
  });
  if (version === undefined || issues.list.length > before) return undefined;
  return { version, match: match as 'all' | 'any', rules: obj.rules as Condition[] };
}

/** Validates the body of an alias write: `{version, description?, canary?}`. */
export function parseAliasSpec(input: unknown): AliasSpec {
  const issues = new Issues();
  const obj = readObject(input, '', issues, ['version', 'description', 'canary']);
  if (!obj) issues.throwIfAny('alias');
  const body = obj as Record<string, unknown>;
  const versionValue = requireField(body, 'version', '', issues);
  const version = versionValue === undefined ? undefined : readVersionRef(versionValue, 'version', issues);
  const description = body.description ?? '';
  checkString(description, 'description', issues, { maxLength: 256 });
  const canary =
    body.canary === undefined || body.canary === null ? undefined : readCanary(body.canary, 'canary', issues);
  if (version !== undefined && canary && canary.version === version) {
    issues.add('canary.version', `must differ from the primary version (${formatVersionRef(version)})`);
  }
  issues.throwIfAny('alias');
  const spec: AliasSpec = { version: version as VersionRef, description: description as string };
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
