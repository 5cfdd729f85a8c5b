import type { AliasView, FunctionView, VersionView } from '../api.js';
import type { CodeDraft } from '../code-draft.js';
import { formatPercent } from '../dom.js';

/**
 * What the function page gives its tabs. The tabs import this, and the page imports the tabs: nothing here
 * imports the page, so the imports run one way.
 */

export const TABS = [
  'code',
  'config',
  'versions',
  'aliases',
  'rollouts',
  'monitoring',
  'stages',
  'triggers',
  'async',
] as const;
export type Tab = (typeof TABS)[number];

/** The function page as its tabs see it: what it loaded, what it keeps across tabs, and its links. */
export interface FunctionPageState {
  fn: FunctionView | undefined;
  readonly versions: VersionView[];
  readonly aliases: AliasView[];
  /** The code being edited on $LATEST, kept across tabs. */
  draft: CodeDraft | undefined;
  /** The test event and request options, kept across tabs and qualifiers. */
  testEvent: string;
  testHeaders: string;
  testRoutingKey: string;
  /** Reads the function, its versions and aliases again (after a write), and redraws the header. */
  reload(signal?: AbortSignal): Promise<void>;
  /** Where a tab of this function leads, with a qualifier (this tab and qualifier by default). */
  href(tab?: Tab, qualifier?: string): string;
}

/** What a tab of the function page gets: the function, its versions and aliases, and the chosen qualifier. */
export interface FunctionContext {
  name: string;
  fn: FunctionView;
  versions: VersionView[];
  aliases: AliasView[];
  /** `$LATEST`, a version id, or an alias name. */
  qualifier: string;
  signal: AbortSignal;
  page: FunctionPageState;
}

export type QualifierKind = 'latest' | 'version' | 'alias';

export function qualifierKind(qualifier: string): QualifierKind {
  if (qualifier === '$LATEST') return 'latest';
  if (/^[1-9][0-9]*$/.test(qualifier)) return 'version';
  return 'alias';
}

/** "version 1", "alias alias1 → 1 (canary 2 at 30 %)", "$LATEST". */
export function describeQualifier(ctx: { aliases: AliasView[] }, qualifier: string): string {
  const kind = qualifierKind(qualifier);
  if (kind === 'latest') return '$LATEST';
  if (kind === 'version') return `version ${qualifier}`;
  const alias = ctx.aliases.find((a) => a.name === qualifier);
  if (!alias) return `alias ${qualifier}`;
  return `alias ${qualifier} → ${alias.version}${aliasCanaryText(alias)}`;
}

export function aliasCanaryText(alias: AliasView): string {
  const canary = alias.canary;
  if (!canary) return '';
  if ('weight' in canary) return ` (canary ${canary.version} at ${formatPercent(canary.weight)})`;
  return ` (canary ${canary.version} by rules)`;
}
