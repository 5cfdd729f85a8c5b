import { enc, getJson, sendJson, type StageHistoryEntry, type StageView } from './api.js';
import { clear, confirmDialog, errorBox, h, toast } from './dom.js';
import { historyDrawer, historyTimeline } from './history-view.js';

type StageSpec = NonNullable<StageHistoryEntry['after']>;

/** "B:release · GET /users/{id} → B:3 · env=dev": a stage's bindings and variables on one line. */
export function describeStage(spec: StageSpec | null): string {
  if (!spec) return '(deleted)';
  return [
    `${spec.function}:${spec.qualifier}`,
    ...Object.entries(spec.routes).map(([route, b]) => `${route} → ${b.function}:${b.qualifier}`),
    ...Object.entries(spec.variables).map(([k, v]) => `${k}=${v}`),
  ].join(' · ');
}

/**
 * A stage's revisions, newest first, each with what it bound; *Restore* writes an earlier revision's bindings
 * back as a new revision (after confirmation, guarded by the current revision), the stage's rollback.
 */
export function openStageHistory(apiName: string, stageName: string, changed: () => void): void {
  const path = `/v1/apis/${enc(apiName)}/stages/${enc(stageName)}`;
  historyDrawer({
    title: `History of ${apiName} / ${stageName}`,
    testid: 'stage-history',
    render: async (reload) => {
      const [{ history }, current] = await Promise.all([
        getJson<{ history: StageHistoryEntry[] }>(`${path}/history`),
        getJson<StageView>(path),
      ]);
      const restore = async (entry: StageHistoryEntry): Promise<void> => {
        if (!entry.after) return;
        const ok = await confirmDialog({
          title: `Restore ${stageName} to revision ${entry.revision}?`,
          message: h(
            'div',
            null,
            h(
              'p',
              null,
              'Requests to the stage go where they went then, at once. The restore is a new revision.',
            ),
            h('p', { class: 'mono small' }, `Now: ${describeStage(current)}`),
            h('p', { class: 'mono small', testid: 'restore-after' }, `After: ${describeStage(entry.after)}`),
          ),
          confirm: 'Restore',
          danger: true,
          testid: 'stage-restore-dialog',
        });
        if (!ok) return;
        try {
          await sendJson<StageView>('PUT', path, entry.after, { 'if-match': `"${current.revision}"` });
          toast(`Restored ${stageName} to revision ${entry.revision}`);
          changed();
          await reload();
        } catch (error) {
          clear(
            failure,
            errorBox(error, () => void reload(), 'stage-history-error'),
          );
        }
      };
      const failure = h('div');
      return [
        failure,
        h('p', { class: 'muted small' }, `Now at revision ${current.revision}: ${describeStage(current)}`),
        historyTimeline({
          entries: history,
          current: current.revision,
          prefix: 'stage-',
          describe: describeStage,
          restore: (entry) => void restore(entry),
        }),
      ];
    },
  });
}
