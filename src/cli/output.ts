import { formatRule } from './rules.js';
import { isWeight, type AliasSpecView } from './views.js';

export function print(text = ''): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Notes for people (what happened, which version ran) go to stderr, so that stdout stays the result. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/**
 * A command's result: with --json, the API's JSON for scripts; else `text()` for people, made only then (it
 * may ask the server for more, such as the address of its data plane).
 */
export async function printResult(
  json: boolean,
  value: unknown,
  text: () => string | Promise<string>,
): Promise<void> {
  if (json) printJson(value);
  else print(await text());
}

/** Columns aligned to their widest cell, two spaces apart; the header in capitals. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}

/** A history of changes: each one's revision, action, who made it and when, and what it left (or `(deleted)`). */
export function historyTable<T>(
  history: readonly { revision: number; action: string; actor: string; at: string; after: T | null }[],
  afterHeader: string,
  describeAfter: (after: T) => string,
): string {
  return table(
    ['revision', 'action', 'actor', 'at', afterHeader],
    history.map((h) => [
      String(h.revision),
      h.action,
      h.actor,
      when(h.at),
      h.after ? describeAfter(h.after) : '(deleted)',
    ]),
  );
}

/** `key: value` lines with the keys aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n');
}

export const percent = (fraction: number): string => `${Number((fraction * 100).toFixed(2))}%`;

export const versionLabel = (version: string): string =>
  version === '$LATEST' ? '$LATEST' : `version ${version}`;

/** Where an alias sends traffic, in one line: `1 90% · 2 10%`, or `4 if header:User = Bob, else 3`. */
export function describeSplit(spec: AliasSpecView): string {
  const canary = spec.canary;
  if (!canary) return `${spec.version} 100%`;
  if (isWeight(canary)) {
    const sticky = canary.sticky ? ` (sticky on ${canary.sticky.source}:${canary.sticky.name})` : '';
    return `${spec.version} ${percent(1 - canary.weight)} · ${canary.version} ${percent(canary.weight)}${sticky}`;
  }
  const joiner = canary.match === 'all' ? ' and ' : ' or ';
  return `${canary.version} if ${canary.rules.map(formatRule).join(joiner)}, else ${spec.version}`;
}

export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** `2026-11-25T15:52:10.105Z` → `2026-11-25 15:52:10`. */
export const when = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return value < 10
    ? `${value.toFixed(2)} ms`
    : value < 1000
      ? `${value.toFixed(1)} ms`
      : `${(value / 1000).toFixed(2)} s`;
}
