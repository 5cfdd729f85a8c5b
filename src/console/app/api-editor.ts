import { isSluiceError, METHODS, parseApiDefinition, type RouteMethod } from '../../contract/domain.js';
import { enc, sendJson, type ApiView, type FieldIssue } from './api.js';
import { editorFooter, field, h, nameInput, overlay, submitsForm, toast } from './dom.js';
import { FormErrors } from './form-errors.js';
import { rowInput, rowList, rowSelect } from './row-list.js';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const NAME_HINT = 'Starts with a letter; letters, digits, _ and - (at most 64).';

/** Every problem of a definition under the path the API names (`routes[1].path`), as the server judges it. */
function definitionIssues(
  name: string | undefined,
  routes: { method: RouteMethod; path: string }[],
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (name !== undefined && !NAME.test(name)) issues.push({ path: 'name', message: NAME_HINT });
  try {
    parseApiDefinition({ routes });
  } catch (error) {
    if (!isSluiceError(error) || !Array.isArray(error.details)) throw error;
    issues.push(...(error.details as FieldIssue[]));
  }
  return issues;
}

/**
 * The API panel: a new API's name, or an API's description and routes (method and path rows, added and
 * removed). Problems show under their row as they are typed once a save was tried; nothing is sent until
 * there are none.
 */
export function openApiEditor(api: ApiView | undefined, saved: (api: ApiView) => void): void {
  const dlg = overlay({
    title: api ? `Edit API ${api.name}` : 'Create API',
    kind: 'drawer',
    testid: 'api-editor',
  });
  const errors = new FormErrors('api-form-error');
  const routes: { method: RouteMethod; path: string }[] = api
    ? api.routes.map((r) => ({ ...r }))
    : [{ method: 'ANY', path: '/{proxy+}' }];
  const name = nameInput('api-name', api?.name ?? '', api === undefined, 'shop');
  const description = h('input', {
    id: 'api-description',
    class: 'input',
    testid: 'api-description',
    value: api?.description ?? '',
    maxlength: 256,
  });
  const rows = h('div', { class: 'route-rows', testid: 'api-routes' });
  let attempted = false;
  const check = () => {
    const issues = definitionIssues(api ? undefined : name.value.trim(), routes);
    if (attempted) errors.show(issues);
    return issues;
  };
  const drawRoutes = rowList<(typeof routes)[number]>({
    host: rows,
    items: routes,
    noun: 'route',
    row: (route, i) => {
      const label = `Route ${i + 1}`;
      const method = rowSelect(
        route,
        'method',
        METHODS,
        { testid: `route-method-${i}`, label: `${label} method` },
        check,
      );
      const path = rowInput(
        route,
        'path',
        { testid: `route-path-${i}`, label: `${label} path`, placeholder: '/users/{id}' },
        check,
      );
      return {
        cells: [method, h('div', null, path, errors.at(`routes[${i}].path`, `error-route-path-${i}`))],
      };
    },
    create: () => ({ method: 'GET', path: '' }),
    addLabel: '+ Add route',
    focusOnAdd: (i) => `route-path-${i}`,
    errors,
    path: 'routes',
    removed: check,
  });
  name.addEventListener('input', check);
  const save = h(
    'button',
    { class: 'btn btn-primary', type: 'button', testid: 'api-save' },
    api ? 'Save' : 'Create',
  );
  const formEl = h(
    'form',
    { class: 'stack', novalidate: true },
    field('API name', name, {
      hint: api ? 'APIs cannot be renamed.' : NAME_HINT,
      error: errors.at('name'),
      required: true,
    }),
    field('Description', description, { error: errors.at('description') }),
    h(
      'div',
      { class: 'subsection' },
      h('label', null, 'Routes'),
      h(
        'p',
        { class: 'hint' },
        'A method (ANY for all) and a path: literal segments, {name} for one segment, {name+} for the rest of the path. The most specific route takes a request.',
      ),
      rows,
      errors.at('routes', 'error-routes'),
    ),
    errors.banner,
  );
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    attempted = true;
    if (check().length) {
      errors.focusFirst(formEl);
      return;
    }
    save.disabled = true;
    const definition = { description: description.value, routes };
    const sent = api
      ? sendJson<ApiView>('PUT', `/v1/apis/${enc(api.name)}`, definition)
      : sendJson<ApiView>('POST', '/v1/apis', { name: name.value.trim(), ...definition });
    sent
      .then(({ body }) => {
        dlg.close();
        toast(`${api ? 'Saved' : 'Created'} API ${body.name}`);
        saved(body);
      })
      .catch((error: unknown) => {
        save.disabled = false;
        errors.showFailure(error, 'api-form-error');
      });
  });
  submitsForm(save, formEl);
  dlg.body.append(formEl);
  editorFooter(dlg, 'api', save);
  drawRoutes();
}
