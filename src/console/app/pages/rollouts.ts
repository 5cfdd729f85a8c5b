import { enc, fnPath, getJson, type RolloutView } from '../api.js';
import { badge, cardHead, clear, dataTable, emptyState, errorBox, formatAgo, h, spinner } from '../dom.js';
import { describePlan } from '../rollout-form.js';
import { openStartRollout } from '../rollout-start.js';
import { renderRolloutView, STATUS_BADGES } from '../rollout-view.js';
import { go, parseRoute } from '../router.js';
import { qualifierKind, type FunctionContext } from './function-context.js';

/** The link to one rollout: this tab with `rollout=ID` beside the qualifier. */
function rolloutHref(ctx: FunctionContext, id: string): string {
  const base = ctx.page.href('rollouts');
  return `${base}${base.includes('?') ? '&' : '?'}rollout=${enc(id)}`;
}

/**
 * Rollouts: every rollout of the function's aliases (of the chosen alias only, when the selector names one),
 * newest first with its outcome and reason, and *Start rollout*; `rollout=ID` shows one rollout live.
 */
export function renderRolloutsTab(ctx: FunctionContext, panel: HTMLElement): void {
  const id = parseRoute(location.hash).query.get('rollout');
  const alias = qualifierKind(ctx.qualifier) === 'alias' ? ctx.qualifier : undefined;
  if (id) {
    const host = h('div');
    clear(
      panel,
      h('p', null, h('a', { href: ctx.page.href('rollouts'), testid: 'rollouts-back' }, '← All rollouts')),
      host,
    );
    renderRolloutView(host, {
      id,
      signal: ctx.signal,
      changed: () => void ctx.page.reload(),
    });
    return;
  }
  const list = h('div', null, spinner('Loading rollouts…'));
  const published = ctx.versions.length > 0;
  const start = h(
    'button',
    {
      class: 'btn btn-primary',
      type: 'button',
      testid: 'start-rollout',
      disabled: !published,
      title: published ? undefined : 'Publish a version first',
      onClick: () => {
        openStartRollout({
          functionName: ctx.name,
          aliases: ctx.aliases,
          versions: ctx.versions,
          alias,
          started: (r) => {
            go(rolloutHref(ctx, r.id).slice(1));
          },
        });
      },
    },
    'Start rollout',
  );
  clear(
    panel,
    h(
      'section',
      { class: 'card' },
      cardHead(
        alias ? `Rollouts of ${alias}` : 'Rollouts',
        'A rollout moves an alias to a new version in steps, watches the new version’s errors and latency against guardrails, and sends all traffic back to the primary by itself when one is breached.',
        start,
      ),
      list,
    ),
  );
  const load = async () => {
    try {
      const aliases = ctx.aliases.filter((a) => !alias || a.name === alias);
      const lists = await Promise.all(
        aliases.map((a) =>
          getJson<{ rollouts: RolloutView[] }>(
            `${fnPath(ctx.name)}/aliases/${enc(a.name)}/rollouts`,
            ctx.signal,
          ),
        ),
      );
      if (ctx.signal.aborted) return;
      const rollouts = lists
        .flatMap((l) => l.rollouts)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      if (rollouts.length === 0) {
        clear(
          list,
          emptyState(
            'No rollouts yet',
            published
              ? 'Start one to move an alias to a new version step by step, with guardrails.'
              : 'Publish a version (Versions tab), then roll an alias out to it.',
          ),
        );
        return;
      }
      clear(list, rolloutTable(ctx, rollouts));
    } catch (error) {
      if (!ctx.signal.aborted)
        clear(
          list,
          errorBox(error, () => void load()),
        );
    }
  };
  void load();
}

function rolloutTable(ctx: FunctionContext, rollouts: RolloutView[]): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll' },
    dataTable(
      ['Started', 'Alias', 'From → to', 'Plan', 'Status', 'Outcome'],
      rollouts.map((r) =>
        h(
          'tr',
          { testid: `rollout-row-${r.id}`, 'data-status': r.status },
          h(
            'td',
            { title: r.createdAt },
            h('a', { href: rolloutHref(ctx, r.id), testid: 'rollout-open' }, formatAgo(r.createdAt)),
          ),
          h('td', null, r.alias),
          h('td', null, `${r.from} → ${r.to}`),
          h('td', { class: 'small' }, describePlan(r.steps)),
          h(
            'td',
            null,
            badge(r.status, STATUS_BADGES[r.status]),
            r.status === 'running' &&
              h('div', { class: 'muted small' }, `step ${r.step} of ${r.steps.length}`),
          ),
          h('td', { class: 'small' }, r.reason ?? '—'),
        ),
      ),
      { testid: 'rollout-table' },
    ),
  );
}
