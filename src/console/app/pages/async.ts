import { enc, fnPath, getJson, type AsyncInvocationList, type AsyncInvocationView } from '../api.js';
import {
  ASYNC_STATUSES,
  pending,
  renderAsyncRecord,
  sourceCell,
  statusBadge,
  type SourceLinks,
} from '../async-record.js';
import { cardHead, clear, dataTable, emptyState, errorBox, formatAgo, h, spinner } from '../dom.js';
import { go, onLeave, parseRoute } from '../router.js';
import type { FunctionContext } from './function-context.js';

/** This tab with its query: one record (`invocation=ID`), or the list of one status. */
export function asyncHref(ctx: FunctionContext, query: Record<string, string>): string {
  const base = ctx.page.href('async');
  const extra = new URLSearchParams(query).toString();
  return extra ? `${base}${base.includes('?') ? '&' : '?'}${extra}` : base;
}

/**
 * Asynchronous invocations of the function, newest first — those queued with `x-fc-invocation-type: Async`,
 * by a timer, or by a destination — with their status, attempts and the version that ran, filtered by status
 * (`status=failed`); `invocation=ID` shows one. The list follows itself every 2 s while any is under way.
 */
export function renderAsyncTab(ctx: FunctionContext, panel: HTMLElement): void {
  const query = parseRoute(location.hash).query;
  const links: SourceLinks = {
    trigger: () => ctx.page.href('triggers'),
    record: (requestId) => asyncHref(ctx, { invocation: requestId }),
  };
  const id = query.get('invocation');
  if (id) {
    const host = h('div');
    clear(
      panel,
      h(
        'p',
        null,
        h('a', { href: ctx.page.href('async'), testid: 'async-back' }, '← All asynchronous invocations'),
      ),
      host,
    );
    renderAsyncRecord(host, { functionName: ctx.name, requestId: id, signal: ctx.signal, links });
    return;
  }
  const status = ASYNC_STATUSES.find((s) => s === query.get('status'));
  const filter = h(
    'select',
    { class: 'input', testid: 'async-status', 'aria-label': 'Status' },
    h('option', { value: '', selected: !status }, 'Every status'),
    ASYNC_STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
  );
  filter.addEventListener('change', () => {
    go(asyncHref(ctx, filter.value ? { status: filter.value } : {}).slice(1));
  });
  const list = h('div', null, spinner('Loading asynchronous invocations…'));
  const items: AsyncInvocationView[] = [];
  let next: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  onLeave(() => {
    clearTimeout(timer);
  });
  const page = (token: string | null) =>
    getJson<AsyncInvocationList>(
      `${fnPath(ctx.name)}/async-invocations?limit=50${status ? `&status=${status}` : ''}${token ? `&nextToken=${enc(token)}` : ''}`,
      ctx.signal,
    );
  /** The newest page again, in place of what was shown. */
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const first = await page(null);
      if (ctx.signal.aborted) return;
      items.splice(0, items.length, ...first.invocations);
      next = first.nextToken;
      draw();
      if (items.some(pending)) timer = setTimeout(() => void refresh(), 2000);
    } catch (error) {
      if (!ctx.signal.aborted)
        clear(
          list,
          errorBox(error, () => void refresh()),
        );
    }
  };
  const more = async () => {
    if (!next) return;
    try {
      const older = await page(next);
      items.push(...older.invocations);
      next = older.nextToken;
      draw();
    } catch (error) {
      if (!ctx.signal.aborted)
        clear(
          list,
          errorBox(error, () => void refresh()),
        );
    }
  };
  const draw = () => {
    clear(
      list,
      items.length === 0
        ? emptyState(
            status ? `No ${status} asynchronous invocation` : 'No asynchronous invocation yet',
            'Invoke the function asynchronously (Test Function, the CLI’s invoke --async, or x-fc-invocation-type: Async), or let a timer trigger fire.',
          )
        : dataTable(
            ['Request id', 'Status', 'Qualifier', 'Version', 'Source', 'Attempts', 'Queued', 'Finished'],
            items.map((r) =>
              h(
                'tr',
                { testid: `async-row-${r.requestId}` },
                h(
                  'td',
                  { class: 'mono small' },
                  h(
                    'a',
                    { href: links.record(r.requestId), testid: `async-open-${r.requestId}` },
                    r.requestId,
                  ),
                ),
                h('td', null, statusBadge(r.status)),
                h('td', null, r.qualifier),
                h('td', null, r.version ?? '—'),
                h('td', { class: 'small' }, sourceCell(r.source, links)),
                h('td', null, String(r.attempts.length)),
                h('td', { title: r.createdAt }, formatAgo(r.createdAt)),
                h(
                  'td',
                  r.finishedAt ? { title: r.finishedAt } : null,
                  r.finishedAt ? formatAgo(r.finishedAt) : '—',
                ),
              ),
            ),
            { testid: 'async-table' },
          ),
      next &&
        h(
          'button',
          { class: 'btn btn-small', type: 'button', testid: 'async-more', onClick: () => void more() },
          'Older invocations',
        ),
    );
  };
  clear(
    panel,
    h(
      'section',
      { class: 'card' },
      cardHead(
        'Asynchronous invocations',
        'Each event’s status, its attempts and the version its qualifier chose when it ran. Ended records are kept 7 days.',
        h('label', { class: 'muted small' }, 'Status ', filter),
        h(
          'button',
          { class: 'btn', type: 'button', testid: 'async-refresh', onClick: () => void refresh() },
          'Refresh',
        ),
      ),
      list,
    ),
  );
  void refresh();
}
