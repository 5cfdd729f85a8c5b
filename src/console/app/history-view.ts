import { diffLines } from './diff.js';
import { badge, clear, errorBox, formatTime, h, overlay, spinner, type Child } from './dom.js';

/** One revision of an alias or a stage, as their histories list them. */
export interface Revision<S> {
  revision: number;
  action: string;
  actor: string;
  at: string;
  before: S | null;
  after: S | null;
}

/**
 * A drawer that shows a history: `render` reads it and returns what to show, given the means to read it again
 * after a change made from the drawer. It shows a spinner while it reads, and an error with a retry.
 */
export function historyDrawer(options: {
  title: string;
  testid: string;
  render: (reload: () => Promise<void>) => Promise<Child>;
}): void {
  const dlg = overlay({ title: options.title, kind: 'drawer', testid: options.testid, wide: true });
  const load = async (): Promise<void> => {
    clear(dlg.body, spinner('Loading history…'));
    try {
      clear(dlg.body, await options.render(load));
    } catch (error) {
      clear(
        dlg.body,
        errorBox(error, () => void load()),
      );
    }
  };
  dlg.footer.append(h('button', { class: 'btn', type: 'button', onClick: dlg.close }, 'Close'));
  void load();
}

const specLines = (spec: unknown): string => (spec ? JSON.stringify(spec, null, 2) : '');

/**
 * Revisions newest first: each one's action, who made it and when, what it set (`describe`) and its diff from
 * the one before; every one but the current can be restored. `prefix` leads the testids: `stage-` gives
 * stage-history-list, stage-history-3 and stage-restore-3.
 */
export function historyTimeline<E extends Revision<unknown>>(options: {
  entries: readonly E[];
  current: number;
  prefix: string;
  describe: (spec: E['after']) => string;
  restore: (entry: E) => void;
}): HTMLElement {
  const { current, prefix } = options;
  return h(
    'ol',
    { class: 'timeline', testid: `${prefix}history-list` },
    [...options.entries]
      .sort((a, b) => b.revision - a.revision)
      .map((entry) =>
        h(
          'li',
          { class: 'timeline-item', testid: `${prefix}history-${entry.revision}` },
          h(
            'div',
            { class: 'timeline-head' },
            badge(`r${entry.revision}`, entry.revision === current ? 'badge-accent' : 'badge-muted'),
            h('strong', null, entry.action),
            h('span', { class: 'muted small' }, `by ${entry.actor} · ${formatTime(entry.at)}`),
            entry.revision === current && badge('current', 'badge-ok'),
            h('span', { class: 'spacer' }),
            entry.after !== null &&
              entry.revision !== current &&
              h(
                'button',
                {
                  class: 'btn btn-small',
                  type: 'button',
                  testid: `${prefix}restore-${entry.revision}`,
                  onClick: () => {
                    options.restore(entry);
                  },
                },
                'Restore',
              ),
          ),
          h('div', { class: 'small mono' }, options.describe(entry.after)),
          h(
            'details',
            { class: 'diff-details' },
            h('summary', null, 'Diff'),
            h(
              'pre',
              { class: 'diff' },
              diffLines(specLines(entry.before), specLines(entry.after)).map((l) =>
                h(
                  'div',
                  { class: `diff-${l.kind}` },
                  `${l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' '} ${l.text}`,
                ),
              ),
            ),
          ),
        ),
      ),
  );
}
