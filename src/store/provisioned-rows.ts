import { SluiceError } from '../core/errors.js';
import type { NodeBeat, ProvisionedRecord } from '../core/model.js';
import type { Qualifier } from '../core/names.js';
import type { CanaryRatio, ProvisionedReport } from '../core/provisioned.js';

/** A `provisioned` row as both databases return it (PostgreSQL parses JSON columns, SQLite does not). */
export interface ProvisionedRow {
  function_name: string;
  qualifier: string;
  target: number;
  canary_ratio: string | number;
  created_at: string;
  updated_at: string;
}

export interface NodeRow {
  node: string;
  seen_at: number;
  provisioned: string | ProvisionedReport[];
}

/** The ratio is a number or the word `weight`: kept as text, so that one column holds either. */
export const ratioColumn = (ratio: CanaryRatio): string => String(ratio);

export function toProvisioned(row: ProvisionedRow): ProvisionedRecord {
  const ratio = String(row.canary_ratio);
  return {
    functionName: row.function_name,
    qualifier: row.qualifier,
    spec: { target: row.target, canaryRatio: ratio === 'weight' ? 'weight' : Number(ratio) },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toNodeBeat(row: NodeRow): NodeBeat {
  return {
    node: row.node,
    at: row.seen_at,
    provisioned:
      typeof row.provisioned === 'string'
        ? (JSON.parse(row.provisioned) as ProvisionedReport[])
        : row.provisioned,
  };
}

/** Why a qualifier cannot be provisioned: the version or alias it names does not exist. */
export function qualifierMissing(name: string, qualifier: Qualifier): SluiceError {
  return qualifier.kind === 'alias'
    ? new SluiceError('AliasNotFound', `function ${name} has no alias ${qualifier.alias}`)
    : new SluiceError(
        'VersionNotFound',
        `function ${name} has no version ${qualifier.kind === 'version' ? qualifier.version : '$LATEST'}`,
      );
}

export function provisionedNotFound(name: string, qualifier: string): SluiceError {
  return new SluiceError(
    'ProvisionedNotFound',
    `function ${name} has no provisioned instances for ${qualifier}`,
  );
}
