import { fnPath, getJson, type TriggerList, type TriggerView } from '../api.js';
import { cardHead, clear, emptyState, errorBox, formatAgo, h, spinner } from '../dom.js';
import type { FunctionContext } from './function-context.js';
import { resolves } from './stages.js';

const what = (t: TriggerView): string =>
  t.kind === 'timer' ? (t.schedule ?? '') : `${t.stream ?? ''} ${t.subject ?? ''} (${t.url ?? ''})`;

/** Triggers: the function's timers and queue subscriptions, the qualifier each invokes, and what that serves now. */
export function renderTriggersTab(ctx: FunctionContext, panel: HTMLElement): void {
  clear(panel, spinner('Loading triggers…'));
  const load = () => {
    getJson<TriggerList>(`${fnPath(ctx.name)}/triggers`, ctx.signal)
      .then(({ triggers }) => {
        if (ctx.signal.aborted) return;
        clear(
          panel,
          h(
            'section',
            { class: 'card' },
            cardHead(
              'Triggers',
              'Timers and message-queue subscriptions that invoke this function, each through its qualifier: moving an alias moves their traffic.',
            ),
            triggers.length === 0
              ? emptyState(
                  'No trigger invokes this function',
                  'Create one with the CLI (sluice trigger create) or POST /v1/functions/{name}/triggers, bound to an alias.',
                )
              : h(
                  'table',
                  { class: 'table', testid: 'trigger-table' },
                  h(
                    'thead',
                    null,
                    h(
                      'tr',
                      null,
                      ...[
                        'Name',
                        'Kind',
                        'Schedule or subject',
                        'Qualifier',
                        'Serves now',
                        'Enabled',
                        'Last fired',
                      ].map((t) => h('th', { scope: 'col' }, t)),
                    ),
                  ),
                  h(
                    'tbody',
                    null,
                    triggers.map((t) =>
                      h(
                        'tr',
                        { testid: `trigger-row-${t.name}` },
                        h('td', null, h('strong', null, t.name)),
                        h('td', null, t.kind),
                        h('td', null, h('code', { class: 'small' }, what(t))),
                        h('td', null, h('a', { href: ctx.page.href('code', t.qualifier) }, t.qualifier)),
                        h('td', { class: 'small' }, resolves(t.qualifier, ctx.aliases)),
                        h('td', null, t.enabled ? 'yes' : 'no'),
                        h(
                          'td',
                          t.lastFiredAt ? { title: t.lastFiredAt } : null,
                          t.lastFiredAt ? formatAgo(t.lastFiredAt) : '—',
                        ),
                      ),
                    ),
                  ),
                ),
          ),
        );
      })
      .catch((error: unknown) => {
        if (!ctx.signal.aborted) clear(panel, errorBox(error, load));
      });
  };
  load();
}
