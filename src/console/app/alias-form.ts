import {
  ALIAS_NAME,
  ALIAS_NAME_HINT,
  DEFAULT_ALIAS,
  isAliasName,
  isSluiceError,
  parseAliasSpec,
  parseInterval,
} from '../../contract/domain.js';
import type { AliasSpecView, FieldIssue, Rule, RuleOp, RuleSource } from './api.js';

/** The alias editor's fields as the user typed them. */
export interface RuleRow {
  source: RuleSource;
  name: string;
  op: RuleOp;
  value: string;
}

export interface AliasForm {
  name: string;
  creating: boolean;
  description: string;
  primary: string;
  canaryEnabled: boolean;
  canaryVersion: string;
  mode: 'weight' | 'rules';
  /** Percent, 0–100 in steps of 0.01, as typed. */
  weightPercent: string;
  stickySource: RuleSource | '';
  stickyName: string;
  match: 'all' | 'any';
  rules: RuleRow[];
}

export const SOURCES: readonly RuleSource[] = ['header', 'cookie', 'query', 'key'];
export const OPS: readonly RuleOp[] = ['=', '!=', '>', '<', '>=', '<=', 'in', 'range', 'percent'];

export const OP_LABELS: Record<RuleOp, string> = {
  '=': '= equals',
  '!=': '!= differs from',
  '>': '> greater than',
  '<': '< less than',
  '>=': '>= at least',
  '<=': '<= at most',
  in: 'in one of',
  range: 'range interval',
  percent: 'percent of values',
};

export const OP_PLACEHOLDERS: Record<RuleOp, string> = {
  '=': 'value',
  '!=': 'value',
  '>': 'number',
  '<': 'number',
  '>=': 'number',
  '<=': 'number',
  in: 'a, b, c',
  range: '[1,100)',
  percent: '0–100',
};

const NUMBER = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

export function emptyRule(): RuleRow {
  return { source: 'header', name: '', op: '=', value: '' };
}

/** A weight fraction as the percent the editor shows: 0.3 → "30", 0.1234 → "12.34". */
export function weightToPercent(weight: number): string {
  return String(Math.round(weight * 10000) / 100);
}

export function ruleValueText(rule: Rule): string {
  return Array.isArray(rule.value) ? rule.value.join(', ') : String(rule.value);
}

export function formFromAlias(
  name: string,
  spec: AliasSpecView | undefined,
  fallbackPrimary: string,
): AliasForm {
  const canary = spec?.canary;
  const weighted = canary && 'weight' in canary ? canary : undefined;
  const ruled = canary && 'rules' in canary ? canary : undefined;
  return {
    name,
    creating: spec === undefined,
    description: spec?.description ?? '',
    primary: spec?.version ?? fallbackPrimary,
    canaryEnabled: canary !== undefined,
    canaryVersion: canary?.version ?? '',
    mode: ruled ? 'rules' : 'weight',
    weightPercent: weighted ? weightToPercent(weighted.weight) : '10',
    stickySource: weighted?.sticky?.source ?? '',
    stickyName: weighted?.sticky?.name ?? '',
    match: ruled?.match ?? 'all',
    rules: ruled?.rules.map((r) => ({ ...r, value: ruleValueText(r) })) ?? [emptyRule()],
  };
}

function ruleValue(row: RuleRow, path: string, issues: FieldIssue[]): Rule['value'] | undefined {
  const text = row.value.trim();
  if (text === '') {
    issues.push({ path, message: 'Enter a value for this rule' });
    return undefined;
  }
  switch (row.op) {
    case '=':
    case '!=':
      return row.value;
    case '>':
    case '<':
    case '>=':
    case '<=':
      if (!NUMBER.test(text)) {
        issues.push({ path, message: `"${row.op}" compares numbers: enter a number` });
        return undefined;
      }
      return Number(text);
    case 'in': {
      const values = text
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      if (values.length === 0) issues.push({ path, message: 'List one or more values, separated by commas' });
      return values;
    }
    case 'range':
      if (!parseInterval(text)) {
        issues.push({ path, message: 'Enter a non-empty interval such as [1,100), (0,1] or [5,5]' });
        return undefined;
      }
      return text;
    case 'percent': {
      const n = Number(text);
      if (!NUMBER.test(text) || n < 0 || n > 100) {
        issues.push({ path, message: 'Enter a percentage from 0 to 100' });
        return undefined;
      }
      return n;
    }
  }
}

/**
 * Checks the form and builds the alias body `{version, description, canary?}`. Issues carry the same paths
 * as the server's (`canary.rules[0].value`), so that its answers land under the same fields; the core's own
 * `parseAliasSpec` then checks what the server's schema cannot say, exactly as the server will.
 */
export function buildAliasSpec(form: AliasForm): { spec?: AliasSpecView; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (form.creating) {
    if (form.name === '') issues.push({ path: 'name', message: 'Enter a name for the alias' });
    else if (form.name === DEFAULT_ALIAS)
      issues.push({ path: 'name', message: '$DEFAULT exists already: edit it instead' });
    else if (!ALIAS_NAME.test(form.name))
      issues.push({ path: 'name', message: `The name ${ALIAS_NAME_HINT}` });
    else if (!isAliasName(form.name))
      issues.push({ path: 'name', message: `${form.name} is reserved: LATEST is another name for $LATEST` });
  }
  if (form.primary === '') issues.push({ path: 'version', message: 'Choose the primary version' });
  const spec: AliasSpecView = { version: form.primary, description: form.description };
  if (form.canaryEnabled) {
    if (form.canaryVersion === '') {
      issues.push({ path: 'canary.version', message: 'Choose the canary release version' });
    } else if (form.canaryVersion === form.primary) {
      issues.push({
        path: 'canary.version',
        message: 'The canary version must differ from the primary version',
      });
    }
    if (form.mode === 'weight') {
      const text = form.weightPercent.trim();
      const pct = Number(text);
      let weight: number | undefined;
      if (text === '' || !NUMBER.test(text)) {
        issues.push({
          path: 'canary.weight',
          message: 'Enter the canary weight as a percentage from 0 to 100',
        });
      } else if (pct < 0 || pct > 100) {
        issues.push({
          path: 'canary.weight',
          message: `The weight must be between 0 and 100 %, not ${text} %`,
        });
      } else if (Math.abs(pct * 100 - Math.round(pct * 100)) > 1e-6) {
        issues.push({
          path: 'canary.weight',
          message: 'The weight has steps of 0.01 % (two decimals at most)',
        });
      } else {
        weight = Math.round(pct * 100) / 10000;
      }
      let sticky: { source: RuleSource; name: string } | undefined;
      if (form.stickySource !== '') {
        if (form.stickyName.trim() === '') {
          issues.push({
            path: 'canary.sticky.name',
            message: 'Name the parameter that keeps a user on one version',
          });
        } else {
          sticky = { source: form.stickySource, name: form.stickyName.trim() };
        }
      }
      spec.canary = { version: form.canaryVersion, weight: weight ?? 0, ...(sticky && { sticky }) };
    } else {
      if (form.rules.length === 0) issues.push({ path: 'canary.rules', message: 'Add at least one rule' });
      const rules: Rule[] = [];
      form.rules.forEach((row, i) => {
        const at = `canary.rules[${i}]`;
        if (row.name.trim() === '') issues.push({ path: `${at}.name`, message: 'Enter the parameter name' });
        const value = ruleValue(row, `${at}.value`, issues);
        // ruleValue gives the value the type its op takes.
        if (value !== undefined)
          rules.push({ source: row.source, name: row.name.trim(), op: row.op, value } as Rule);
      });
      spec.canary = { version: form.canaryVersion, match: form.match, rules };
    }
  }
  if (issues.length > 0) return { issues };
  try {
    parseAliasSpec(spec);
  } catch (error) {
    if (isSluiceError(error) && Array.isArray(error.details)) {
      return { issues: error.details as FieldIssue[] };
    }
    throw error;
  }
  return { spec, issues };
}

/** A one-line account of where an alias sends traffic. */
export function describeSpec(spec: AliasSpecView | null): string {
  if (!spec) return '(none)';
  const canary = spec.canary;
  if (!canary) return `all traffic → ${spec.version}`;
  if ('weight' in canary) {
    const pct = Math.round(canary.weight * 10000) / 100;
    const sticky = canary.sticky ? `, sticky by ${canary.sticky.source} ${canary.sticky.name}` : '';
    return `${spec.version} (${Math.round((100 - pct) * 100) / 100} %) · canary ${canary.version} (${pct} %)${sticky}`;
  }
  const rules = canary.rules.map((r) => `${r.source}:${r.name} ${r.op} ${ruleValueText(r)}`);
  return `${spec.version} · canary ${canary.version} when ${canary.match} of [${rules.join('; ')}]`;
}
