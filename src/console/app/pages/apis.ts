import { cardHead, clear, emptyState, errorBox, formatAgo, h, pageHeader, spinner } from '../dom.js';
import { bindingLink, loadStages, type StageRow } from './stages.js';
import { getJson, type ApiView } from '../api.js';

/** API Gateway: every API with its routes and stages, and the function and qualifier each stage binds. */
export function renderApis(main: HTMLElement, signal: AbortSignal): void {
  const body = h('div', null, spinner('Loading APIs…'));
  clear(
    main,
    pageHeader(
      'API Gateway',
      'APIs and their stages (test, pre-release, release …), each bound to a function and a qualifier — usually an alias, so that a release repoints the alias and no stage changes.',
    ),
    body,
  );
  const load = () => {
    Promise.all([getJson<{ apis: ApiView[] }>('/v1/apis', signal), loadStages(signal)])
      .then(([{ apis }, rows]) => {
        if (signal.aborted) return;
        if (apis.length === 0) {
          clear(
            body,
            emptyState(
              'No APIs yet',
              'Create an API with POST /v1/apis (or the CLI), then stages bound to your functions’ aliases.',
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
            ),
          ),
        );
      })
      .catch((error: unknown) => {
        if (!signal.aborted) clear(body, errorBox(error, load));
      });
  };
  load();
}

function apiCard(api: ApiView, rows: StageRow[]): HTMLElement {
  return h(
    'section',
    { class: 'card', testid: `api-${api.name}` },
    cardHead(
      api.name,
      api.description,
      h('span', { class: 'muted small' }, `updated ${formatAgo(api.updatedAt)}`),
    ),
    h(
      'div',
      { class: 'card-pad-x' },
      h(
        'div',
        { class: 'routes' },
        api.routes.map((r) => h('code', { class: 'route' }, `${r.method} ${r.path}`)),
      ),
    ),
    rows.length === 0
      ? h('p', { class: 'muted card-pad-x' }, 'No stages.')
      : h(
          'table',
          { class: 'table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...['Stage', 'Binding', 'Route overrides', 'Variables', 'URL', 'Revision'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h(
            'tbody',
            null,
            rows.map((r) =>
              h(
                'tr',
                { testid: `stage-${api.name}-${r.stage.name}` },
                h('td', null, h('strong', null, r.stage.name)),
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
                h('td', null, h('code', { class: 'small' }, r.url)),
                h('td', null, String(r.stage.revision)),
              ),
            ),
          ),
        ),
  );
}
