import { enc, getJson, sendJson, type StageView } from './api.js';
import { badge, clear, confirmDialog, errorBox, formatTime, h, overlay, spinner, toast } from './dom.js';

interface StageSpec {
  function: string;
  qualifier: string;
  variables: Record<string, string>;
  routes: Record<string, { function: string; qualifier: string }>;
}

interface HistoryEntry {
  revision: number;
  action: 'create' | 'update' | 'delete';
  actor: string;
  at: string;
  before: StageSpec | null;
  after: StageSpec | null;
}

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
  const dlg = overlay({
    title: `History of ${apiName} / ${stageName}`,
    kind: 'drawer',
    testid: 'stage-history',
    wide: true,
  });
  const load = async () => {
    clear(dlg.body, spinner('Loading history…'));
    try {
      const [{ history }, current] = await Promise.all([
        getJson<{ history: HistoryEntry[] }>(`${path}/history`),
        getJson<StageView>(path),
      ]);
      const restore = async (entry: HistoryEntry) => {
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
          await load();
        } catch (error) {
          clear(
            dlg.body,
            errorBox(error, () => void load(), 'stage-history-error'),
          );
        }
      };
      clear(
        dlg.body,
        h('p', { class: 'muted small' }, `Now at revision ${current.revision}: ${describeStage(current)}`),
        h(
          'ol',
          { class: 'timeline', testid: 'stage-history-list' },
          [...history]
            .sort((a, b) => b.revision - a.revision)
            .map((entry) =>
              h(
                'li',
                { class: 'timeline-item', testid: `stage-history-${entry.revision}` },
                h(
                  'div',
                  { class: 'timeline-head' },
                  badge(
                    `r${entry.revision}`,
                    entry.revision === current.revision ? 'badge-accent' : 'badge-muted',
                  ),
                  h('strong', null, entry.action),
                  h('span', { class: 'muted small' }, `by ${entry.actor} · ${formatTime(entry.at)}`),
                  entry.revision === current.revision && badge('current', 'badge-ok'),
                  h('span', { class: 'spacer' }),
                  entry.after &&
                    entry.revision !== current.revision &&
                    h(
                      'button',
                      {
                        class: 'btn btn-small',
                        type: 'button',
                        testid: `stage-restore-${entry.revision}`,
                        onClick: () => void restore(entry),
                      },
                      'Restore',
                    ),
                ),
                h('div', { class: 'small mono' }, describeStage(entry.after)),
              ),
            ),
        ),
      );
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
