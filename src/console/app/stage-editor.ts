import { routeKey } from '../../contract/domain.js';
import {
  enc,
  fnPath,
  getJson,
  listAll,
  sendJson,
  type AliasView,
  type ApiView,
  type FieldIssue,
  type FunctionView,
  type StageView,
  type VersionView,
} from './api.js';
import { NAME_HINT } from './api-editor.js';
import { clear, editorFooter, errorBox, field, h, nameInput, overlay, submitsForm, toast } from './dom.js';
import { FormErrors } from './form-errors.js';
import { qualifierOptions } from './qualifier-options.js';
import { rowInput, rowList, rowSelect } from './row-list.js';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** The qualifiers of each function, read once per panel: $DEFAULT, $LATEST, its aliases, its versions. */
function qualifierSource(signal: AbortSignal) {
  const cache = new Map<string, Promise<{ aliases: string[]; versions: string[] }>>();
  return (fn: string) => {
    let entry = cache.get(fn);
    if (!entry) {
      entry = Promise.all([
        getJson<{ aliases: AliasView[] }>(`${fnPath(fn)}/aliases`, signal),
        listAll<VersionView>(`${fnPath(fn)}/versions`, 'versions', signal),
      ]).then(([a, v]) => ({
        aliases: a.aliases.map((x) => x.name).filter((n) => n !== '$DEFAULT'),
        versions: v.map((x) => x.versionId).reverse(),
      }));
      cache.set(fn, entry);
    }
    return entry;
  };
}

/**
 * A function and qualifier, chosen from lists: the qualifier's list is the chosen function's own. A binding
 * that names what no longer exists keeps it as a choice, so that opening a stage changes nothing.
 */
function bindingPicker(
  functions: string[],
  qualifiers: ReturnType<typeof qualifierSource>,
  value: { function: string; qualifier: string },
  testid: string,
  onChange: () => void,
) {
  const fn = h(
    'select',
    { class: 'input', testid: `${testid}-function`, 'aria-label': 'Function' },
    h('option', { value: '' }, 'Choose a function'),
    [...new Set([...functions, value.function].filter(Boolean))].map((f) =>
      h('option', { value: f, selected: f === value.function }, f),
    ),
  );
  const qualifier = h('select', { class: 'input', testid: `${testid}-qualifier`, 'aria-label': 'Qualifier' });
  const fill = async (chosen: string, notify: boolean) => {
    const name = fn.value;
    const { aliases, versions } = name ? await qualifiers(name) : { aliases: [], versions: [] };
    if (fn.value !== name) return;
    clear(qualifier, qualifierOptions({ aliases, versions }, chosen));
    if (notify) onChange();
  };
  fn.addEventListener('change', () => {
    void fill('$DEFAULT', true);
  });
  qualifier.addEventListener('change', onChange);
  void fill(value.qualifier || '$DEFAULT', false);
  return {
    fn,
    qualifier,
    read: () => ({ function: fn.value, qualifier: qualifier.value || '$DEFAULT' }),
  };
}

/**
 * The stage panel: a stage's name (when new), the function and qualifier it binds, per-route overrides and
 * stage variables. Saved with the revision it was opened at (If-Match), so that a change made meanwhile is
 * refused rather than lost; a new one only if no stage of its name exists (If-None-Match: *).
 */
export function openStageEditor(options: {
  api: ApiView;
  stage: StageView | undefined;
  saved: () => void;
}): void {
  const { api, stage } = options;
  const controller = new AbortController();
  const dlg = overlay({
    title: stage ? `Edit stage ${stage.name} of ${api.name}` : `Add a stage to ${api.name}`,
    kind: 'drawer',
    testid: 'stage-editor',
    wide: true,
    onClose: () => {
      controller.abort();
    },
  });
  const errors = new FormErrors('stage-form-error');
  const qualifiers = qualifierSource(controller.signal);
  let attempted = false;
  const name = nameInput('stage-name', stage?.name ?? '', stage === undefined, 'release');
  const overrides = Object.entries(stage?.routes ?? {}).map(([route, b]) => ({ route, ...b }));
  const variables = Object.entries(stage?.variables ?? {}).map(([key, value]) => ({ key, value }));
  const overrideRows = h('div', { class: 'stack-small', testid: 'stage-overrides' });
  const variableRows = h('div', { class: 'stack-small', testid: 'stage-variables' });
  const body = h('div', null);
  const save = h(
    'button',
    { class: 'btn btn-primary', type: 'button', testid: 'stage-save', disabled: true },
    'Save',
  );
  dlg.body.append(body);
  editorFooter(dlg, 'stage', save);

  listAll<FunctionView>('/v1/functions', 'functions', controller.signal)
    .then((fns) => {
      const functions = fns.map((f) => f.name);
      const check = (): FieldIssue[] => {
        const issues: FieldIssue[] = [];
        const stageName = name.value.trim();
        if (!stage && !NAME.test(stageName)) issues.push({ path: 'name', message: NAME_HINT });
        else if (!stage && api.stages.includes(stageName))
          issues.push({
            path: 'name',
            message: `${api.name} has a stage ${stageName} already: edit it instead`,
          });
        if (!binding.read().function)
          issues.push({ path: 'function', message: 'Choose the function the stage calls' });
        overrides.forEach((o, i) => {
          if (!o.function)
            issues.push({ path: `routes[${i}]`, message: 'Choose the function this route calls' });
          if (overrides.findIndex((x) => x.route === o.route) !== i)
            issues.push({ path: `routes[${i}]`, message: `${o.route} is overridden twice` });
        });
        variables.forEach((v, i) => {
          if (!VARIABLE.test(v.key))
            issues.push({
              path: `variables[${i}]`,
              message: 'A name of letters, digits, _ . and - that starts with a letter or _',
            });
          else if (variables.findIndex((x) => x.key === v.key) !== i)
            issues.push({ path: `variables[${i}]`, message: `${v.key} is set twice` });
          if (v.value.length > 1024)
            issues.push({ path: `variables[${i}]`, message: 'At most 1024 characters' });
        });
        if (attempted) errors.show(issues);
        return issues;
      };
      const binding = bindingPicker(
        functions,
        qualifiers,
        { function: stage?.function ?? '', qualifier: stage?.qualifier ?? '$DEFAULT' },
        'stage',
        check,
      );
      const routes = api.routes.map(routeKey);
      const drawOverrides = rowList({
        host: overrideRows,
        items: overrides,
        noun: 'override',
        row: (o, i) => {
          const route = rowSelect(
            o,
            'route',
            [...new Set([...routes, o.route])],
            { testid: `override-route-${i}`, label: `Override ${i + 1} route`, mono: true },
            check,
          );
          const picker = bindingPicker(functions, qualifiers, o, `override-${i}`, () => {
            Object.assign(o, picker.read());
            check();
          });
          return {
            cells: [route, picker.fn, picker.qualifier],
            under: h('div', { class: 'row-error' }, errors.at(`routes[${i}]`, `error-override-${i}`)),
          };
        },
        create: () => {
          const b = binding.read();
          return { route: routes[0] ?? '', function: b.function, qualifier: b.qualifier };
        },
        addLabel: '+ Override a route',
        addDisabled: routes.length === 0,
        errors,
        path: 'routes',
        removed: check,
      });
      const drawVariables = rowList({
        host: variableRows,
        items: variables,
        noun: 'variable',
        row: (v, i) => {
          const label = `Variable ${i + 1}`;
          const key = rowInput(
            v,
            'key',
            { testid: `variable-name-${i}`, label: `${label} name`, placeholder: 'name' },
            check,
            (text) => text.trim(),
          );
          const value = rowInput(
            v,
            'value',
            { testid: `variable-value-${i}`, label: `${label} value`, placeholder: 'value' },
            check,
          );
          return {
            cells: [key, value],
            under: h('div', { class: 'row-error' }, errors.at(`variables[${i}]`, `error-variable-${i}`)),
          };
        },
        create: () => ({ key: '', value: '' }),
        addLabel: '+ Add variable',
        focusOnAdd: (i) => `variable-name-${i}`,
        errors,
        path: 'variables',
        removed: check,
      });
      name.addEventListener('input', check);
      const formEl = h(
        'form',
        { class: 'stack', novalidate: true },
        field('Stage name', name, {
          hint: stage ? 'Stages cannot be renamed.' : `${NAME_HINT} Such as release, prepub or dev.`,
          error: errors.at('name'),
          required: true,
        }),
        h(
          'div',
          { class: 'form-grid' },
          field('Function', binding.fn, { error: errors.at('function'), required: true }),
          field('Qualifier', binding.qualifier, {
            hint: 'Usually an alias: a release then repoints the alias, and the stage stays as it is.',
            error: errors.at('qualifier'),
          }),
        ),
        h(
          'div',
          { class: 'subsection' },
          h('label', null, 'Route overrides'),
          h(
            'p',
            { class: 'hint' },
            'Routes of the API that call another function or qualifier than the stage’s.',
          ),
          overrideRows,
        ),
        h(
          'div',
          { class: 'subsection' },
          h('label', null, 'Stage variables'),
          h('p', { class: 'hint' }, 'Given to the function in the event’s stageVariables.'),
          variableRows,
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
        const stageName = stage?.name ?? name.value.trim();
        const spec = {
          ...binding.read(),
          variables: Object.fromEntries(variables.map((v) => [v.key, v.value])),
          routes: Object.fromEntries(
            overrides.map((o) => [o.route, { function: o.function, qualifier: o.qualifier }]),
          ),
        };
        // A new stage is created only if no one made one of that name since the page was drawn.
        sendJson<StageView>(
          'PUT',
          `/v1/apis/${enc(api.name)}/stages/${enc(stageName)}`,
          spec,
          stage ? { 'if-match': `"${stage.revision}"` } : { 'if-none-match': '*' },
        )
          .then(({ body: saved }) => {
            dlg.close();
            toast(`Saved stage ${saved.name} of ${api.name} (revision ${saved.revision})`);
            options.saved();
          })
          .catch((error: unknown) => {
            save.disabled = false;
            errors.showFailure(error, 'stage-form-error', (refusal) =>
              refusal.code === 'StageAlreadyExists'
                ? [
                    {
                      path: 'name',
                      message: `${api.name} has had a stage ${stageName} since this page was drawn; nothing was saved: close this panel and edit that stage`,
                    },
                  ]
                : undefined,
            );
          });
      });
      submitsForm(save, formEl);
      save.disabled = false;
      clear(body, formEl);
      drawOverrides();
      drawVariables();
    })
    .catch((error: unknown) => {
      if (!controller.signal.aborted) clear(body, errorBox(error));
    });
}
