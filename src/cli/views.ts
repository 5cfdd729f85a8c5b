import type { Condition } from '../contract/domain.js';

export type { FunctionConfigView, FunctionView, VersionView } from '../contract/wire.js';

/** The other JSON forms the control-plane API answers with (src/api/views.ts), as the CLI reads them. */
export type CanaryView =
  | { version: string; weight: number; sticky?: { source: string; name: string } }
  | { version: string; match: 'all' | 'any'; rules: Condition[] };

export interface AliasSpecView {
  version: string;
  description: string;
  canary?: CanaryView;
}

export interface AliasView extends AliasSpecView {
  functionName: string;
  name: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface HistoryView {
  revision: number;
  action: string;
  actor: string;
  at: string;
  before: AliasSpecView | null;
  after: AliasSpecView | null;
}

export interface ExplainView {
  alias: string;
  revision: number;
  version: string;
  target: 'primary' | 'canary';
  reason: 'no canary' | 'weight' | 'rules';
  weight?: number;
  sticky?: { source: string; name: string; value: string; bucket: number };
  draw?: number;
  match?: 'all' | 'any';
  conditions?: { condition: Condition; value?: string; holds: boolean }[];
}

export const isWeight = (
  canary: CanaryView,
): canary is { version: string; weight: number; sticky?: { source: string; name: string } } =>
  'weight' in canary;
