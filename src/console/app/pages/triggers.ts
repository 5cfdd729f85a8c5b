import { enc, fnPath, getJson, request, sendJson, type TriggerList, type TriggerView } from '../api.js';
import {
  cardHead,
  clear,
  clearOnNextAction,
  confirmDialog,
  dataTable,
  emptyState,
  errorBox,
  formatAgo,
  h,
  spinner,
  toast,
} from '../dom.js';
import { openTimerEditor, triggerBody } from '../trigger-editor.js';
import type { FunctionContext } from './function-context.js';
import { resolves } from './stages.js';

const what = (t: TriggerView): string =>
  t.kind === 'timer' ? (t.schedule ?? '') : `${t.stream ?? ''} ${t.subject ?? ''} (${t.url ?? ''})`;

/**
 * Triggers: the function's timers and queue subscriptions, the qualifier each invokes and what that serves now.
 * Timers are created and edited here; a queue trigger is listed with what it subscribes to, and can be
 * switched off or deleted.
 */
export function renderTriggersTab(ctx: FunctionContext, panel: HTMLElement): void {
  const base = `${fnPath(ctx.name)}/triggers`;
  const errorArea = h('div');
  const load = () => {
    getJson<TriggerList>(base, ctx.signal)
      .then(({ triggers }) => {
        if (!ctx.signal.aborted) draw(triggers);
      })
      .catch((error: unknown) => {
        if (!ctx.signal.aborted) clear(panel, errorBox(error, load));
      });
  };
  const fail = (error: unknown) => {
    clear(errorArea, errorBox(error, undefined, 'trigger-error'));
  };
  const edit = (trigger: TriggerView | undefined) => {
    openTimerEditor({
      functionName: ctx.name,
      aliases: ctx.aliases,
      versions: ctx.versions,
      trigger,
      saved: load,
    });
  };
  const setEnabled = async (t: TriggerView, enabled: boolean) => {
    try {
      await sendJson('PUT', `${base}/${enc(t.name)}`, { ...triggerBody(t), enabled });
      toast(`${enabled ? 'Enabled' : 'Disabled'} ${t.name}`);
      load();
    } catch (error) {
      fail(error);
    }
  };
  const remove = async (t: TriggerView) => {
    const ok = await confirmDialog({
      title: `Delete trigger ${t.name}?`,
      message: h('p', null, `It invokes ${t.qualifier} no more. Invocations it queued already still run.`),
      confirm: 'Delete trigger',
      danger: true,
    });
    if (!ok) return;
    try {
      await request('DELETE', `${base}/${enc(t.name)}`);
      toast(`Deleted trigger ${t.name}`);
      load();
    } catch (error) {
      fail(error);
    }
  };
  const small = (label: string, testid: string, onClick: () => void, extra: Record<string, unknown> = {}) =>
    h('button', { class: 'btn btn-small', type: 'button', testid, onClick, ...extra }, label);
  const row = (t: TriggerView) =>
    h(
      'tr',
      { testid: `trigger-row-${t.name}` },
      h(
        'td',
        null,
        h('strong', null, t.name),
        t.description && h('div', { class: 'muted small' }, t.description),
      ),
      h('td', null, t.kind),
      h('td', null, h('code', { class: 'small' }, what(t))),
      h('td', null, h('a', { href: ctx.page.href('code', t.qualifier) }, t.qualifier)),
      h('td', { class: 'small' }, resolves(t.qualifier, ctx.aliases)),
      h('td', { testid: `trigger-enabled-${t.name}` }, t.enabled ? 'yes' : 'no'),
      h(
        'td',
        t.lastFiredAt ? { title: t.lastFiredAt, testid: `trigger-fired-${t.name}` } : null,
        t.lastFiredAt ? formatAgo(t.lastFiredAt) : '—',
      ),
      h(
        'td',
        { class: 'actions wrap' },
        t.kind === 'timer' &&
          small('Edit', `edit-trigger-${t.name}`, () => {
            edit(t);
          }),
        small(t.enabled ? 'Disable' : 'Enable', `toggle-trigger-${t.name}`, () => {
          void setEnabled(t, !t.enabled);
        }),
        h(
          'a',
          { class: 'btn btn-small', href: ctx.page.href('async'), testid: `trigger-invocations-${t.name}` },
          'Invocations',
        ),
        small('Delete', `delete-trigger-${t.name}`, () => void remove(t), {
          class: 'btn btn-small btn-danger-text',
        }),
      ),
    );
  const draw = (triggers: TriggerView[]) => {
    const card = h(
      'section',
      { class: 'card' },
      cardHead(
        'Triggers',
        'Timers and message-queue subscriptions that invoke this function asynchronously, each through its qualifier: moving an alias moves their traffic.',
        h(
          'button',
          {
            class: 'btn btn-primary',
            type: 'button',
            testid: 'create-trigger',
            onClick: () => {
              edit(undefined);
            },
          },
          '+ Create timer',
        ),
      ),
      errorArea,
      triggers.length === 0
        ? emptyState(
            'No trigger invokes this function',
            'Create a timer here, bound to an alias, or with the CLI: sluice trigger create.',
          )
        : dataTable(
            ['Name', 'Kind', 'Schedule or subject', 'Qualifier', 'Serves now', 'Enabled', 'Last fired', ''],
            triggers.map(row),
            { testid: 'trigger-table' },
          ),
      triggers.some((t) => t.kind === 'queue') &&
        h(
          'p',
          { class: 'muted small pad' },
          'Queue triggers are created and changed with the CLI or the API (sluice trigger create … --queue).',
        ),
    );
    clearOnNextAction(errorArea, card);
    clear(panel, card);
  };
  clear(panel, spinner('Loading triggers…'));
  load();
}
