import { describeSpec } from './alias-form.js';
import {
  ApiError,
  enc,
  fnPath,
  getJson,
  sendJson,
  type AliasSpecView,
  type AliasView,
  type HistoryEntry,
} from './api.js';
import { confirmDialog, h, toast } from './dom.js';
import { historyDrawer, historyTimeline } from './history-view.js';

/** An alias's history and its rollback: to the revision before, to all-primary, or to any revision. */

export const aliasPath = (functionName: string, alias: string): string =>
  `${fnPath(functionName)}/aliases/${enc(alias)}`;

/** Where a rollback takes an alias, as the API takes it. */
export type RollbackTarget = { to: 'previous' } | { to: 'primary' } | { revision: number };

/** Rolls an alias back after confirmation; `target` as the API takes it. */
export async function rollbackAlias(
  functionName: string,
  alias: AliasView,
  target: RollbackTarget,
  done: () => Promise<void>,
  history?: HistoryEntry[],
): Promise<void> {
  let entries = history;
  if (!entries && 'to' in target && target.to === 'previous') {
    try {
      entries = (await getJson<{ history: HistoryEntry[] }>(`${aliasPath(functionName, alias.name)}/history`))
        .history;
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
      return;
    }
  }
  let after: AliasSpecView | null = null;
  let title: string;
  if ('revision' in target) {
    after = entries?.find((e) => e.revision === target.revision)?.after ?? null;
    title = `Restore ${alias.name} to revision ${target.revision}?`;
  } else if (target.to === 'primary') {
    after = { version: alias.version, description: alias.description };
    title = `Send all of ${alias.name}’s traffic to version ${alias.version}?`;
  } else {
    after = entries?.find((e) => e.revision === alias.revision)?.before ?? null;
    title = `Roll back ${alias.name}?`;
  }
  const ok = await confirmDialog({
    title,
    message: h(
      'div',
      null,
      h(
        'p',
        null,
        'Live traffic changes at once. The rollback is recorded in the alias history as a new revision.',
      ),
      h(
        'dl',
        { class: 'kv-grid one' },
        h(
          'div',
          { class: 'kv' },
          h('dt', null, 'Now'),
          h('dd', { class: 'mono small' }, describeSpec(alias)),
        ),
        h(
          'div',
          { class: 'kv' },
          h('dt', null, 'After'),
          h(
            'dd',
            { class: 'mono small', testid: 'rollback-after' },
            after ? describeSpec(after) : 'the previous configuration',
          ),
        ),
      ),
    ),
    confirm: 'Roll back',
    danger: true,
    testid: 'rollback-dialog',
  });
  if (!ok) return;
  try {
    const { body } = await sendJson<AliasView>(
      'POST',
      `${aliasPath(functionName, alias.name)}/rollback`,
      target,
      {
        'if-match': `"${alias.revision}"`,
      },
    );
    toast(`Rolled back ${alias.name}: ${describeSpec(body)}`);
    await done();
  } catch (error) {
    toast(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error), 'error');
  }
}

/** Every revision of an alias, newest first, each with the diff it made; rollback from here too. */
export function openAliasHistory(
  functionName: string,
  aliasName: string,
  changed: () => Promise<void>,
): void {
  historyDrawer({
    title: `History of ${aliasName}`,
    testid: 'alias-history',
    render: async (reload) => {
      const path = aliasPath(functionName, aliasName);
      const [history, alias] = await Promise.all([
        getJson<{ history: HistoryEntry[] }>(`${path}/history`).then((r) => r.history),
        getJson<AliasView>(path),
      ]);
      const after = async () => {
        await changed();
        await reload();
      };
      const rollback = (target: RollbackTarget) => {
        void rollbackAlias(functionName, alias, target, after, history);
      };
      return [
        h(
          'div',
          { class: 'history-actions' },
          h('div', { class: 'muted small' }, `Now at revision ${alias.revision}: ${describeSpec(alias)}`),
          h(
            'div',
            { class: 'row' },
            h(
              'button',
              {
                class: 'btn btn-danger',
                type: 'button',
                testid: 'rollback-previous',
                disabled: alias.revision <= 1,
                onClick: () => {
                  rollback({ to: 'previous' });
                },
              },
              'Roll back to previous',
            ),
            alias.canary &&
              h(
                'button',
                {
                  class: 'btn',
                  type: 'button',
                  testid: 'rollback-primary',
                  onClick: () => {
                    rollback({ to: 'primary' });
                  },
                },
                `All traffic to ${alias.version}`,
              ),
          ),
        ),
        historyTimeline({
          entries: history,
          current: alias.revision,
          prefix: '',
          describe: describeSpec,
          restore: (entry) => {
            rollback({ revision: entry.revision });
          },
        }),
      ];
    },
  });
}
