import { dataPlaneUrl, enc, getJson, type AliasView, type ApiView, type StageView } from '../api.js';
import { cardHead, clear, dataTable, emptyState, errorBox, formatAgo, h, spinner } from '../dom.js';
import { functionHref } from '../router.js';
import { aliasCanaryText, type FunctionContext } from './function-context.js';

export interface StageRow {
  api: ApiView;
  stage: StageView;
  /** The bindings of this stage: the stage's own, and those of single routes. */
  bindings: { route: string; function: string; qualifier: string }[];
  /** Where the stage is served, on the data plane's origin when it has one of its own. */
  url: string;
}

/** Every API with its stages and their bindings. */
export async function loadStages(signal: AbortSignal): Promise<StageRow[]> {
  const [{ apis }, base] = await Promise.all([
    getJson<{ apis: ApiView[] }>('/v1/apis', signal),
    dataPlaneUrl(),
  ]);
  const perApi = await Promise.all(
    apis.map(async (api) => {
      const { stages } = await getJson<{ stages: StageView[] }>(`/v1/apis/${enc(api.name)}/stages`, signal);
      return stages.map((stage) => ({
        api,
        stage,
        url: `${base}/gw/${enc(api.name)}/${enc(stage.name)}/`,
        bindings: [
          { route: 'all routes', function: stage.function, qualifier: stage.qualifier },
          ...Object.entries(stage.routes).map(([route, b]) => ({
            route,
            function: b.function,
            qualifier: b.qualifier,
          })),
        ],
      }));
    }),
  );
  return perApi.flat();
}

/** What a qualifier serves now: its alias's versions, or the version it names. */
export function resolves(qualifier: string, aliases: AliasView[] | undefined): string {
  if (qualifier === '$LATEST' || /^\d+$/.test(qualifier))
    return qualifier === '$LATEST' ? '$LATEST' : `version ${qualifier}`;
  const alias = aliases?.find((a) => a.name === (qualifier || '$DEFAULT'));
  return alias ? `${alias.version}${aliasCanaryText(alias)}` : '—';
}

/** Stages: where an API gateway stage binds this function, which qualifier, and what that resolves to now. */
export function renderStagesTab(ctx: FunctionContext, panel: HTMLElement): void {
  clear(panel, spinner('Loading stages…'));
  const load = () => {
    loadStages(ctx.signal)
      .then((rows) => {
        if (ctx.signal.aborted) return;
        const mine = rows.flatMap((r) =>
          r.bindings.filter((b) => b.function === ctx.name).map((b) => ({ ...r, binding: b })),
        );
        clear(
          panel,
          h(
            'section',
            { class: 'card' },
            cardHead(
              'Stages',
              'API gateway stages that send requests to this function. Repointing an alias moves every stage bound to it.',
              h('a', { class: 'btn', href: '#/apis' }, 'All APIs'),
            ),
            mine.length === 0
              ? emptyState(
                  'No stage binds this function',
                  'Create an API and a stage with the API or the CLI (sluice api / PUT /v1/apis/{api}/stages/{stage}) and bind it to an alias of this function.',
                )
              : dataTable(
                  ['API', 'Stage', 'Route', 'Qualifier', 'Serves now', 'URL', 'Revision', 'Updated'],
                  mine.map((r) =>
                    h(
                      'tr',
                      { testid: `stage-row-${r.api.name}-${r.stage.name}` },
                      h('td', null, r.api.name),
                      h('td', null, h('strong', null, r.stage.name)),
                      h('td', { class: 'small' }, r.binding.route),
                      h(
                        'td',
                        null,
                        h(
                          'a',
                          { href: ctx.page.href('code', r.binding.qualifier || '$DEFAULT') },
                          r.binding.qualifier || '$DEFAULT',
                        ),
                      ),
                      h('td', { class: 'small' }, resolves(r.binding.qualifier, ctx.aliases)),
                      h('td', null, h('code', { class: 'small' }, r.url)),
                      h('td', null, String(r.stage.revision)),
                      h('td', { title: r.stage.updatedAt }, formatAgo(r.stage.updatedAt)),
                    ),
                  ),
                  { testid: 'stage-table' },
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

export function bindingLink(fn: string, qualifier: string): HTMLElement {
  return h(
    'a',
    { href: functionHref(fn, 'code', qualifier || '$DEFAULT') },
    `${fn}:${qualifier || '$DEFAULT'}`,
  );
}
