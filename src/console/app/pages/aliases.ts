import { openExplain } from '../alias-explain.js';
import { openAliasEditor } from '../alias-editor.js';
import { aliasPath, openAliasHistory, rollbackAlias } from '../alias-history.js';
import { fnPath, getJson, request, type AliasView } from '../api.js';
import {
  cardHead,
  clear,
  clearOnNextAction,
  colorFor,
  confirmDialog,
  dataTable,
  emptyState,
  errorBox,
  formatAgo,
  formatPercent,
  h,
  toast,
} from '../dom.js';
import type { FunctionContext } from './function-context.js';
import { inUseHelp } from './in-use.js';

/**
 * How often an open Aliases tab reads the aliases again: a rollout steps them, and anyone may change them, and
 * a revision shown stale would have its Edit or Roll back refused.
 */
const WATCH_MS = 3000;

/** The watch of each panel's last drawing, stopped when it is drawn again. */
const watches = new WeakMap<HTMLElement, () => void>();

/** Aliases: the list with each one's traffic split, the editor, history with diffs, and rollback. */
export function renderAliasesTab(ctx: FunctionContext, panel: HTMLElement): void {
  const refresh = async () => {
    await ctx.page.reload();
    if (ctx.signal.aborted) return;
    ctx.aliases = ctx.page.aliases;
    ctx.versions = ctx.page.versions;
    renderAliasesTab(ctx, panel);
  };
  watches.get(panel)?.();
  watches.set(panel, watchAliases(ctx, refresh));
  const errorArea = h('div');
  const table = dataTable(
    ['Alias', 'Primary', 'Canary', 'Traffic', 'Revision', ''],
    ctx.aliases.map((alias) =>
      h(
        'tr',
        { testid: `alias-row-${alias.name}` },
        h(
          'td',
          null,
          h('a', { class: 'strong', href: ctx.page.href('code', alias.name) }, alias.name),
          alias.description && h('div', { class: 'muted small' }, alias.description),
        ),
        h('td', { testid: `alias-primary-${alias.name}` }, alias.version),
        h('td', { testid: `alias-canary-${alias.name}` }, canaryCell(alias)),
        h('td', null, trafficBar(alias)),
        h(
          'td',
          { title: `updated ${alias.updatedAt}` },
          `r${alias.revision}`,
          h('div', { class: 'muted small' }, formatAgo(alias.updatedAt)),
        ),
        h(
          'td',
          { class: 'actions wrap' },
          h(
            'button',
            {
              class: 'btn btn-small',
              type: 'button',
              testid: `edit-alias-${alias.name}`,
              onClick: () => {
                openAliasEditor(ctx.name, ctx.versions, alias, refresh);
              },
            },
            'Edit',
          ),
          h(
            'button',
            {
              class: 'btn btn-small',
              type: 'button',
              testid: `history-alias-${alias.name}`,
              onClick: () => {
                openAliasHistory(ctx.name, alias.name, refresh);
              },
            },
            'History',
          ),
          h(
            'button',
            {
              class: 'btn btn-small',
              type: 'button',
              testid: `explain-alias-${alias.name}`,
              title: 'Which version would serve a request, and why',
              onClick: () => {
                openExplain(ctx.name, alias);
              },
            },
            'Explain',
          ),
          h(
            'a',
            {
              class: 'btn btn-small',
              href: ctx.page.href('code', alias.name),
              testid: `test-alias-${alias.name}`,
            },
            'Test',
          ),
          h(
            'button',
            {
              class: 'btn btn-small',
              type: 'button',
              testid: `rollback-alias-${alias.name}`,
              disabled: alias.revision <= 1,
              title: 'Return the alias to its previous configuration',
              onClick: () => void rollbackAlias(ctx.name, alias, { to: 'previous' }, refresh),
            },
            'Roll back',
          ),
          alias.name !== '$DEFAULT' &&
            h(
              'button',
              {
                class: 'btn btn-small btn-danger-text',
                type: 'button',
                testid: `delete-alias-${alias.name}`,
                onClick: () => void remove(alias),
              },
              'Delete',
            ),
        ),
      ),
    ),
    { testid: 'alias-table' },
  );
  const remove = async (alias: AliasView) => {
    const ok = await confirmDialog({
      title: `Delete alias ${alias.name}?`,
      message: h('p', null, `Callers of ${alias.name} will get AliasNotFound. Its history goes with it.`),
      confirm: 'Delete alias',
      danger: true,
    });
    if (!ok) return;
    try {
      await request('DELETE', aliasPath(ctx.name, alias.name), {
        headers: { 'if-match': `"${alias.revision}"` },
      });
      toast(`Deleted alias ${alias.name}`);
      await refresh();
    } catch (error) {
      clear(errorArea, errorBox(error, undefined, 'alias-error'), inUseHelp(error, ctx.page));
    }
  };
  const card = h(
    'section',
    { class: 'card' },
    cardHead(
      'Aliases',
      'An alias points at a primary version and, optionally, a canary version that takes a weight of the traffic or the requests that match rules.',
      h(
        'button',
        {
          class: 'btn btn-primary',
          type: 'button',
          testid: 'create-alias',
          onClick: () => {
            openAliasEditor(ctx.name, ctx.versions, undefined, refresh);
          },
        },
        '+ Create alias',
      ),
    ),
    errorArea,
    ctx.aliases.length ? table : emptyState('No aliases', 'Create an alias to route traffic to versions.'),
  );
  clearOnNextAction(errorArea, card);
  clear(panel, card);
}

/**
 * Calls `changed` once the aliases differ from what the tab shows, checked every `WATCH_MS` while the tab is
 * open; not while a dialog is open over it, whose form would lose what was typed. Returns the stop.
 */
function watchAliases(ctx: FunctionContext, changed: () => Promise<void>): () => void {
  const shown = revisions(ctx.aliases);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const check = async () => {
    try {
      if (!document.querySelector('.backdrop')) {
        const { aliases } = await getJson<{ aliases: AliasView[] }>(
          `${fnPath(ctx.name)}/aliases`,
          ctx.signal,
        );
        if (stopped) return;
        // Drawn again, the tab watches anew.
        if (revisions(aliases) !== shown) {
          await changed();
          return;
        }
      }
    } catch {
      // Read again at the next turn: the server may be restarting.
    }
    if (!ctx.signal.aborted && !stopped) timer = setTimeout(() => void check(), WATCH_MS);
  };
  timer = setTimeout(() => void check(), WATCH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const revisions = (aliases: readonly AliasView[]) => aliases.map((a) => `${a.name}@${a.revision}`).join();

function canaryCell(alias: AliasView): Node | string {
  const c = alias.canary;
  if (!c) return h('span', { class: 'muted' }, '—');
  if ('weight' in c) {
    return h(
      'span',
      null,
      `Version ${c.version} · ${formatPercent(c.weight)}`,
      c.sticky && h('div', { class: 'muted small' }, `sticky by ${c.sticky.source} ${c.sticky.name}`),
    );
  }
  const rules = c.rules;
  return h(
    'span',
    null,
    `Version ${c.version} · rules (${c.match})`,
    h(
      'div',
      { class: 'muted small mono' },
      rules
        .map(
          (r) =>
            `${r.source}:${r.name} ${r.op} ${Array.isArray(r.value) ? r.value.join(',') : String(r.value)}`,
        )
        .join(c.match === 'any' ? ' OR ' : ' AND '),
    ),
  );
}

/** The split as a bar with its percentages written under it: "1 · 70 %  2 · 30 %". */
function trafficBar(alias: AliasView): HTMLElement {
  const c = alias.canary;
  const parts =
    c && 'weight' in c
      ? [
          { version: alias.version, share: 1 - c.weight },
          { version: c.version, share: c.weight },
        ]
      : [{ version: alias.version, share: 1 }];
  return h(
    'div',
    { class: 'traffic', testid: `alias-traffic-${alias.name}` },
    h(
      'div',
      { class: 'split-bar' },
      parts.map((p) => h('span', { style: `width:${p.share * 100}%;background:${colorFor(p.version)}` })),
    ),
    h(
      'div',
      { class: 'muted small' },
      c && !('weight' in c)
        ? `${alias.version}, ${c.version} by rules`
        : parts.map((p) => `${p.version} · ${formatPercent(p.share)}`).join('  '),
    ),
  );
}
