import { enc, getJson, request, type ApiView } from '../api.js';
import { openApiEditor } from '../api-editor.js';
import {
  cardHead,
  clear,
  confirmDialog,
  dataTable,
  emptyState,
  errorBox,
  formatAgo,
  h,
  pageHeader,
  spinner,
  toast,
} from '../dom.js';
import { openStageEditor } from '../stage-editor.js';
import { openStageHistory } from '../stage-history.js';
import { bindingLink, loadStages, type StageRow } from './stages.js';

/**
 * API Gateway: every API with its routes and stages, and the function and qualifier each stage binds; APIs
 * created, edited and deleted here, stages added, edited, restored from their history and deleted.
 */
export function renderApis(main: HTMLElement, signal: AbortSignal): void {
  const body = h('div', { class: 'stack' }, spinner('Loading APIs…'));
  const errorArea = h('div', { testid: 'apis-error-area' });
  const create = h(
    'button',
    {
      class: 'btn btn-primary',
      type: 'button',
      testid: 'create-api',
      onClick: () => {
        clear(errorArea);
        openApiEditor(undefined, load);
      },
    },
    '+ Create API',
  );
  clear(
    main,
    pageHeader(
      'API Gateway',
      'APIs and their stages (test, pre-release, release …), each bound to a function and a qualifier — usually an alias, so that a release repoints the alias and no stage changes.',
      create,
    ),
    errorArea,
    body,
  );
  /** Runs an action; its error shows above the APIs until the next action. */
  const act = async (action: () => Promise<void>) => {
    clear(errorArea);
    try {
      await action();
    } catch (error) {
      clear(errorArea, errorBox(error, undefined, 'apis-error'));
    }
  };
  const handlers: CardHandlers = {
    edit: (api) => {
      clear(errorArea);
      openApiEditor(api, load);
    },
    remove: (api) =>
      void act(async () => {
        const ok = await confirmDialog({
          title: `Delete API ${api.name}?`,
          message: h(
            'p',
            null,
            api.stages.length
              ? `Its stages (${api.stages.join(', ')}) go with it: their URLs answer 404 at once.`
              : 'It has no stages.',
          ),
          confirm: 'Delete API',
          danger: true,
        });
        if (!ok) return;
        await request('DELETE', `/v1/apis/${enc(api.name)}`);
        toast(`Deleted API ${api.name}`);
        load();
      }),
    addStage: (api) => {
      clear(errorArea);
      openStageEditor({ api, stage: undefined, saved: load });
    },
    editStage: (api, row) => {
      clear(errorArea);
      openStageEditor({ api, stage: row.stage, saved: load });
    },
    history: (api, row) => {
      clear(errorArea);
      openStageHistory(api.name, row.stage.name, load);
    },
    removeStage: (api, row) =>
      void act(async () => {
        const ok = await confirmDialog({
          title: `Delete stage ${row.stage.name} of ${api.name}?`,
          message: h('p', null, `${row.url} answers 404 at once. Its history goes with it.`),
          confirm: 'Delete stage',
          danger: true,
        });
        if (!ok) return;
        await request('DELETE', `/v1/apis/${enc(api.name)}/stages/${enc(row.stage.name)}`, {
          headers: { 'if-match': `"${row.stage.revision}"` },
        });
        toast(`Deleted stage ${row.stage.name}`);
        load();
      }),
  };
  function load(): void {
    Promise.all([getJson<{ apis: ApiView[] }>('/v1/apis', signal), loadStages(signal)])
      .then(([{ apis }, rows]) => {
        if (signal.aborted) return;
        if (apis.length === 0) {
          clear(
            body,
            emptyState(
              'No APIs yet',
              'Create an API with its routes, then add stages (release, prepub, dev …) bound to your functions’ aliases.',
            ),
          );
          return;
        }
        clear(
          body,
          apis.map((api) =>
            apiCard(
              api,
              rows.filter((r) => r.api.name === api.name),
              handlers,
            ),
          ),
        );
      })
      .catch((error: unknown) => {
        if (!signal.aborted) clear(body, errorBox(error, load));
      });
  }
  load();
}

interface CardHandlers {
  edit: (api: ApiView) => void;
  remove: (api: ApiView) => void;
  addStage: (api: ApiView) => void;
  editStage: (api: ApiView, row: StageRow) => void;
  history: (api: ApiView, row: StageRow) => void;
  removeStage: (api: ApiView, row: StageRow) => void;
}

const button = (label: string, testid: string, onClick: () => void, kind = '') =>
  h('button', { class: `btn btn-small ${kind}`, type: 'button', testid, onClick }, label);

function apiCard(api: ApiView, rows: StageRow[], on: CardHandlers): HTMLElement {
  return h(
    'section',
    { class: 'card', testid: `api-${api.name}` },
    cardHead(
      api.name,
      api.description || undefined,
      h(
        'div',
        { class: 'row' },
        h('span', { class: 'muted small' }, `updated ${formatAgo(api.updatedAt)}`),
        button('Edit routes', `edit-api-${api.name}`, () => {
          on.edit(api);
        }),
        button('+ Add stage', `add-stage-${api.name}`, () => {
          on.addStage(api);
        }),
        button(
          'Delete',
          `delete-api-${api.name}`,
          () => {
            on.remove(api);
          },
          'btn-danger-text',
        ),
      ),
    ),
    h(
      'div',
      { class: 'card-pad-x routes-line' },
      api.routes.length
        ? h(
            'div',
            { class: 'routes', testid: `routes-${api.name}` },
            api.routes.map((r) => h('code', { class: 'route' }, `${r.method} ${r.path}`)),
          )
        : h('span', { class: 'muted small' }, 'No routes: add one with Edit routes.'),
    ),
    rows.length === 0
      ? h('p', { class: 'muted card-pad-x' }, 'No stages.')
      : h(
          'div',
          { class: 'table-scroll' },
          dataTable(
            ['Stage', 'Binding', 'Route overrides', 'Variables', 'URL', ''],
            rows.map((r) =>
              h(
                'tr',
                { testid: `stage-${api.name}-${r.stage.name}` },
                h(
                  'td',
                  null,
                  h('strong', null, r.stage.name),
                  h('div', { class: 'muted small' }, `r${r.stage.revision}`),
                ),
                h('td', null, bindingLink(r.stage.function, r.stage.qualifier)),
                h(
                  'td',
                  { class: 'small' },
                  Object.entries(r.stage.routes).length
                    ? Object.entries(r.stage.routes).map(([route, b]) =>
                        h('div', null, h('code', null, route), ' → ', bindingLink(b.function, b.qualifier)),
                      )
                    : h('span', { class: 'muted' }, '—'),
                ),
                h(
                  'td',
                  { class: 'small mono' },
                  Object.keys(r.stage.variables).length
                    ? Object.entries(r.stage.variables).map(([k, v]) => h('div', null, `${k}=${v}`))
                    : h('span', { class: 'muted' }, '—'),
                ),
                h('td', { class: 'url-cell' }, h('code', { class: 'small' }, r.url)),
                h(
                  'td',
                  { class: 'actions wrap' },
                  button('Edit', `edit-stage-${api.name}-${r.stage.name}`, () => {
                    on.editStage(api, r);
                  }),
                  button('History', `history-stage-${api.name}-${r.stage.name}`, () => {
                    on.history(api, r);
                  }),
                  button(
                    'Delete',
                    `delete-stage-${api.name}-${r.stage.name}`,
                    () => {
                      on.removeStage(api, r);
                    },
                    'btn-danger-text',
                  ),
                ),
              ),
            ),
          ),
        ),
  );
}
