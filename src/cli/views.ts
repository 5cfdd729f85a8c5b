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
  /** Null when the qualifier is `$LATEST` or a version, which no alias routes (`reason: 'named'`). */
  alias: string | null;
  revision: number | null;
  version: string;
  target: 'primary' | 'canary';
  reason: 'named' | 'no canary' | 'weight' | 'rules';
  weight?: number;
  sticky?: { source: string; name: string; value: string; from: string; bucket: number };
  draw?: number;
  match?: 'all' | 'any';
  /** `from`: where the value was read, `routingKey` for a header the request lacks. */
  conditions?: { condition: Condition; value?: string; from?: string; holds: boolean }[];
}

export const isWeight = (
  canary: CanaryView,
): canary is { version: string; weight: number; sticky?: { source: string; name: string } } =>
  'weight' in canary;
