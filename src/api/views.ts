import type { AliasSpec, CanarySpec } from '../core/alias.js';
import { isWeightCanary } from '../core/alias.js';
import type { AliasHistoryEntry, AliasRecord, FunctionRecord, VersionRecord } from '../core/model.js';
import { formatVersionRef } from '../core/names.js';
import type { AliasSpecView, AliasView, CanaryView, HistoryView } from '../contract/schemas/aliases.js';
import type { FunctionView, VersionView } from '../contract/schemas/functions.js';

/** The public JSON forms of stored records: version ids are strings of digits, as the vendors' APIs have them. */
export function functionView(fn: FunctionRecord): FunctionView {
  return {
    name: fn.name,
    ...fn.config,
    trigger: fn.trigger,
    codeSha256: fn.code.sha256,
    codeSize: fn.code.size,
    createdAt: fn.createdAt,
    updatedAt: fn.updatedAt,
  };
}

export function versionView(v: VersionRecord): VersionView {
  return {
    functionName: v.functionName,
    versionId: String(v.version),
    description: v.description,
    config: v.config,
    codeSha256: v.code.sha256,
    codeSize: v.code.size,
    createdAt: v.createdAt,
  };
}

function canaryView(canary: CanarySpec): CanaryView {
  if (isWeightCanary(canary)) {
    return {
      version: formatVersionRef(canary.version),
      weight: canary.weight,
      ...(canary.sticky && { sticky: canary.sticky }),
    };
  }
  return { version: formatVersionRef(canary.version), match: canary.match, rules: canary.rules };
}

export function aliasSpecView(spec: AliasSpec): AliasSpecView {
  return {
    version: formatVersionRef(spec.version),
    description: spec.description,
    ...(spec.canary && { canary: canaryView(spec.canary) }),
  };
}

export function aliasView(alias: AliasRecord): AliasView {
  return {
    functionName: alias.functionName,
    name: alias.name,
    ...aliasSpecView(alias.spec),
    revision: alias.revision,
    createdAt: alias.createdAt,
    updatedAt: alias.updatedAt,
  };
}

export function historyView(entry: AliasHistoryEntry): HistoryView {
  return {
    revision: entry.revision,
    action: entry.action,
    actor: entry.actor,
    at: entry.at,
    before: entry.before && aliasSpecView(entry.before),
    after: entry.after && aliasSpecView(entry.after),
  };
}
