import { SluiceError } from '../core/errors.js';
import type { TriggerRecord, TriggerSpec } from '../core/triggers.js';
import { fromJson, type JsonColumn } from './rows.js';

/** A `triggers` row as both databases return it. */
export interface TriggerRow {
  function_name: string;
  name: string;
  kind: string;
  qualifier: string;
  spec_json: JsonColumn<TriggerSpec>;
  last_fired: number | null;
  created_at: string;
  updated_at: string;
}

export function toTrigger(row: TriggerRow): TriggerRecord {
  return {
    functionName: row.function_name,
    name: row.name,
    spec: fromJson(row.spec_json),
    ...(row.last_fired !== null && { lastFired: row.last_fired }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const triggerNotFound = (name: string, trigger: string): SluiceError =>
  new SluiceError('TriggerNotFound', `function ${name} has no trigger ${trigger}`);

export const triggerExists = (name: string, trigger: string): SluiceError =>
  new SluiceError('TriggerAlreadyExists', `function ${name} has a trigger ${trigger} already`);
