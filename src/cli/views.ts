import type { CanaryView } from '../contract/schemas/aliases.js';

/** The JSON forms the control-plane API answers with, as its schemas declare them (type-only: no schema loads). */
export type { FunctionConfigView, FunctionView, VersionView } from '../contract/schemas/functions.js';
export type {
  AliasSpecView,
  AliasView,
  CanaryView,
  ExplainView,
  HistoryView,
} from '../contract/schemas/aliases.js';

export const isWeight = (canary: CanaryView): canary is Extract<CanaryView, { weight: number }> =>
  'weight' in canary;
