import { h, type Child } from './dom.js';

/**
 * The qualifiers a caller can name, as a select's options: $DEFAULT, $LATEST, the aliases and the versions
 * (newest first). One that no longer exists stays a choice, marked missing, so that opening a form changes
 * nothing.
 */
export function qualifierOptions(
  choices: { aliases: readonly string[]; versions: readonly string[] },
  chosen: string,
): Child[] {
  const group = (label: string, items: readonly string[], text: (q: string) => string) =>
    items.length > 0 &&
    h(
      'optgroup',
      { label },
      items.map((q) => h('option', { value: q, selected: q === chosen }, text(q))),
    );
  const known = ['$DEFAULT', '$LATEST', ...choices.aliases, ...choices.versions];
  return [
    group('Default', ['$DEFAULT'], () => '$DEFAULT (the function’s default alias)'),
    group('Latest', ['$LATEST'], () => '$LATEST'),
    group('Aliases', choices.aliases, (q) => `alias ${q}`),
    group('Versions', choices.versions, (q) => `version ${q}`),
    chosen !== '' && !known.includes(chosen) && group('Not found', [chosen], (q) => `${q} (missing)`),
  ];
}
