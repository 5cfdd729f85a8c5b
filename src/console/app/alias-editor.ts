import {
  buildAliasSpec,
  emptyRule,
  formFromAlias,
  OP_LABELS,
  OP_PLACEHOLDERS,
  OPS,
  SOURCES,
  type AliasForm,
} from './alias-form.js';
import { ApiError, enc, fnPath, sendJson, type AliasView, type VersionView } from './api.js';
import { clear, colorFor, editorFooter, errorBox, field, h, nameInput, overlay, toast } from './dom.js';
import { FormErrors } from './form-errors.js';
import { provisionedSection } from './provisioned-section.js';
import { rowInput, rowList, rowSelect } from './row-list.js';

/**
 * The alias panel: the alias's name and description, its primary version, and a canary by weight (slider and
 * number, sticky key) or by rules, with the Advanced section's provisioned instances. Each part below builds
 * its fields and writes what is typed into the one `AliasForm`; `changed` then shows or hides what the choice
 * of mode leaves, and once a save was tried, every problem under its field.
 */

/** What the parts share: the form they fill, where their problems show, and what to do after a change. */
interface Part {
  form: AliasForm;
  errors: FormErrors;
  changed: () => void;
}

/** A select of `$LATEST` and the versions, newest first (a canary's starts with a placeholder). */
function versionSelect(
  versions: readonly VersionView[],
  ids: { id: string; testid: string },
  value: string,
  placeholder?: string,
): HTMLSelectElement {
  const label = (v: VersionView) => `Version ${v.versionId}${v.description ? ` — ${v.description}` : ''}`;
  return h(
    'select',
    { ...ids, class: 'input' },
    placeholder && h('option', { value: '', selected: value === '' }, placeholder),
    h('option', { value: '$LATEST', selected: value === '$LATEST' }, '$LATEST'),
    [...versions]
      .reverse()
      .map((v) => h('option', { value: v.versionId, selected: v.versionId === value }, label(v))),
  );
}

/** A radio button of one of the form's choices: the canary's mode, or whether all or any rules must hold. */
function choice<K extends 'mode' | 'match'>(
  { form, changed }: Part,
  key: K,
  value: AliasForm[K],
): HTMLElement {
  const radio = h('input', {
    type: 'radio',
    name: `alias-${key}`,
    value,
    testid: `${key}-${value}`,
    checked: form[key] === value,
  });
  radio.addEventListener('change', () => {
    form[key] = value;
    changed();
  });
  return radio;
}

/** The primary and canary split as a bar with its two shares, drawn from the form. */
function splitPreview(form: AliasForm): HTMLElement {
  const pct = Number(form.weightPercent);
  const valid = form.weightPercent.trim() !== '' && Number.isFinite(pct) && pct >= 0 && pct <= 100;
  const canary = valid ? pct : 0;
  const primary = Math.round((100 - canary) * 100) / 100;
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'split-bar big' },
      h('span', { style: `width:${primary}%;background:${colorFor(form.primary || 'primary')}` }),
      h('span', { style: `width:${canary}%;background:${colorFor(form.canaryVersion || 'canary')}` }),
    ),
    h(
      'div',
      { class: 'split-legend' },
      h('span', null, `Primary ${form.primary || '?'}: ${valid ? `${primary} %` : '—'}`),
      h('span', null, `Canary ${form.canaryVersion || '?'}: ${valid ? `${canary} %` : '—'}`),
    ),
  );
}

/** Canary by weight: a slider and a number kept in step, the split they make, and the sticky key. */
function weightPart({ form, errors, changed }: Part) {
  const percentInput = (attrs: Record<string, unknown>) =>
    h('input', { min: 0, max: 100, step: 0.01, value: form.weightPercent, ...attrs });
  const slider = percentInput({
    id: 'weight-slider',
    type: 'range',
    class: 'slider',
    testid: 'weight-slider',
    'aria-label': 'Canary weight (slider)',
  });
  const weight = percentInput({
    id: 'weight-input',
    type: 'number',
    class: 'input weight-input',
    testid: 'weight-input',
    inputmode: 'decimal',
  });
  const preview = h('div', { class: 'split-preview', testid: 'split-preview' });
  const stickySource = h(
    'select',
    { id: 'sticky-source', class: 'input', testid: 'sticky-source', 'aria-label': 'Sticky parameter source' },
    h('option', { value: '', selected: form.stickySource === '' }, 'Not sticky'),
    SOURCES.map((s) => h('option', { value: s, selected: form.stickySource === s }, s)),
  );
  const stickyName = h('input', {
    id: 'sticky-name',
    class: 'input mono',
    testid: 'sticky-name',
    value: form.stickyName,
    placeholder: 'x-user-id',
    'aria-label': 'Sticky parameter name',
    spellcheck: 'false',
  });
  slider.addEventListener('input', () => {
    weight.value = slider.value;
    form.weightPercent = slider.value;
    changed();
  });
  weight.addEventListener('input', () => {
    const n = Number(weight.value);
    if (weight.value.trim() !== '' && Number.isFinite(n))
      slider.value = String(Math.min(100, Math.max(0, n)));
    form.weightPercent = weight.value;
    changed();
  });
  stickySource.addEventListener('change', () => {
    form.stickySource = stickySource.value as AliasForm['stickySource'];
    changed();
  });
  stickyName.addEventListener('input', () => {
    form.stickyName = stickyName.value;
    changed();
  });
  const element = h(
    'div',
    { class: 'subsection', testid: 'weight-section' },
    h('label', { for: 'weight-input' }, 'Canary release version weight'),
    h('div', { class: 'weight-row' }, slider, weight, h('span', null, '%')),
    errors.at('canary.weight'),
    preview,
    h(
      'div',
      { class: 'hint' },
      'Steps of 0.01 %. Each invocation is drawn independently, unless it carries the sticky parameter: then a stable hash of its value decides, and a user only ever moves from the primary to the canary as the weight rises.',
    ),
    h(
      'div',
      { class: 'sticky-row' },
      h('label', { for: 'sticky-source' }, 'Sticky key'),
      stickySource,
      stickyName,
    ),
    errors.at('canary.sticky'),
    errors.at('canary.sticky.name'),
  );
  return {
    element,
    sync: () => {
      element.hidden = form.mode !== 'weight';
      stickyName.disabled = form.stickySource === '';
      clear(preview, splitPreview(form));
    },
  };
}

/** Canary by rules: all or any of them, each a source, a parameter, an operator and a value. */
function rulesPart(part: Part) {
  const { form, errors, changed } = part;
  const host = h('div', { class: 'rules', testid: 'rules' });
  const draw = rowList({
    host,
    items: form.rules,
    noun: 'rule',
    row: (rule, i) => {
      const label = `Rule ${i + 1}`;
      const source = rowSelect(
        rule,
        'source',
        SOURCES,
        { testid: `rule-source-${i}`, label: `${label} source` },
        changed,
      );
      const name = rowInput(
        rule,
        'name',
        {
          testid: `rule-name-${i}`,
          label: `${label} parameter name`,
          placeholder: rule.source === 'header' ? 'x-test-uid' : 'name',
        },
        changed,
      );
      const value = rowInput(
        rule,
        'value',
        { testid: `rule-value-${i}`, label: `${label} value`, placeholder: OP_PLACEHOLDERS[rule.op] },
        changed,
      );
      const op = rowSelect(
        rule,
        'op',
        OPS,
        { testid: `rule-op-${i}`, label: `${label} condition`, text: (o) => OP_LABELS[o as typeof rule.op] },
        () => {
          value.placeholder = OP_PLACEHOLDERS[rule.op];
          changed();
        },
      );
      const at = `canary.rules[${i}]`;
      return {
        cells: [
          source,
          h('div', null, name, errors.at(`${at}.name`, `error-rule-name-${i}`)),
          op,
          h('div', null, value, errors.at(`${at}.value`, `error-rule-value-${i}`)),
        ],
      };
    },
    create: emptyRule,
    addLabel: '+ Add rule',
    focusOnAdd: (i) => `rule-name-${i}`,
    errors,
    path: 'canary.rules',
    removed: changed,
  });
  const element = h(
    'div',
    { class: 'subsection', testid: 'rules-section' },
    h(
      'fieldset',
      { class: 'inline-radios' },
      h('legend', null, 'Rule pattern'),
      h('label', null, choice(part, 'match', 'all'), ' Meet all of the following rules'),
      h('label', null, choice(part, 'match', 'any'), ' Meet any of the following rules'),
    ),
    h(
      'div',
      { class: 'rule-head' },
      ['Source', 'Parameter', 'Condition', 'Value', ''].map((t) => h('span', null, t)),
    ),
    host,
    errors.at('canary.rules'),
    h(
      'div',
      { class: 'hint' },
      'Header names are case-insensitive; >, <, >=, <= and range compare numbers; “in” takes a comma-separated list; “percent” N matches a stable N % of the parameter’s values. A request without the parameter fails the rule.',
    ),
  );
  draw();
  return {
    element,
    sync: () => {
      element.hidden = form.mode !== 'rules';
    },
  };
}

/** The canary: on or off, its version, and weight or rules. */
function canaryPart(part: Part, versions: readonly VersionView[]) {
  const { form, errors, changed } = part;
  const toggle = h('input', {
    id: 'alias-canary-enabled',
    type: 'checkbox',
    testid: 'canary-enabled',
    checked: form.canaryEnabled,
  });
  toggle.addEventListener('change', () => {
    form.canaryEnabled = toggle.checked;
    changed();
  });
  const version = versionSelect(
    versions,
    { id: 'alias-canary-version', testid: 'canary-version' },
    form.canaryVersion,
    'Choose a version',
  );
  version.addEventListener('change', () => {
    form.canaryVersion = version.value;
    changed();
  });
  const weight = weightPart(part);
  const rules = rulesPart(part);
  const section = h(
    'div',
    { class: 'canary-section' },
    field('Canary release version', version, { error: errors.at('canary.version') }),
    h(
      'fieldset',
      { class: 'inline-radios' },
      h('legend', null, 'Canary release type'),
      h('label', null, choice(part, 'mode', 'weight'), ' Random grayscale (weight)'),
      h('label', null, choice(part, 'mode', 'rules'), ' Rule-based'),
    ),
    weight.element,
    rules.element,
  );
  return {
    elements: [h('label', { class: 'toggle' }, toggle, ' Enable canary release version'), section],
    sync: () => {
      section.hidden = !form.canaryEnabled;
      weight.sync();
      rules.sync();
    },
  };
}

/** The alias's name (when new), description and primary version. */
function basicsPart({ form, errors, changed }: Part, versions: readonly VersionView[]): HTMLElement[] {
  const name = nameInput('alias-name', form.name, form.creating, 'alias1');
  const description = h('input', {
    id: 'alias-description',
    class: 'input',
    testid: 'alias-description',
    value: form.description,
    maxlength: 256,
  });
  const primary = versionSelect(versions, { id: 'alias-primary', testid: 'alias-primary' }, form.primary);
  name.addEventListener('input', () => {
    form.name = name.value.trim();
    changed();
  });
  description.addEventListener('input', () => {
    form.description = description.value;
    changed();
  });
  primary.addEventListener('change', () => {
    form.primary = primary.value;
    changed();
  });
  return [
    field('Alias name', name, {
      error: errors.at('name'),
      hint: form.creating
        ? 'Starts with a letter; letters, digits, _ and -. Cannot be renamed later.'
        : 'Aliases cannot be renamed.',
      required: true,
    }),
    field('Description', description, { error: errors.at('description') }),
    field('Primary version', primary, { error: errors.at('version'), required: true }),
  ];
}

/** Opens the panel on an alias (or a new one); `saved` runs after a save. */
export function openAliasEditor(
  functionName: string,
  versions: readonly VersionView[],
  alias: AliasView | undefined,
  saved: () => Promise<void>,
): void {
  const form = formFromAlias(alias?.name ?? '', alias, versions.at(-1)?.versionId ?? '$LATEST');
  const dlg = overlay({
    title: alias ? `Edit alias ${alias.name}` : 'Create alias',
    kind: 'drawer',
    testid: 'alias-editor',
  });
  const errors = new FormErrors('alias-form-error');
  let attempted = false;
  const changed = () => {
    canary.sync();
    if (attempted) errors.show(buildAliasSpec(form).issues);
  };
  const part: Part = { form, errors, changed };
  const basics = basicsPart(part, versions);
  const canary = canaryPart(part, versions);
  const advanced = provisionedSection(functionName, alias?.name);
  // The panel's footer is outside the form: OK submits it, so that Enter in a field does the same.
  const save = h('button', { class: 'btn btn-primary', type: 'button', testid: 'alias-save' }, 'OK');
  const formEl = h(
    'form',
    { class: 'stack', novalidate: true },
    basics,
    canary.elements,
    advanced.element,
    errors.banner,
  );
  const saving = (busy: boolean) => {
    save.disabled = busy;
    save.textContent = busy ? 'Saving…' : 'OK';
  };
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    attempted = true;
    const { spec, issues } = buildAliasSpec(form);
    errors.show(issues);
    if (!spec || advanced.validate().length > 0) {
      dlg.element.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    saving(true);
    // A new alias is created only if no one made one of that name meanwhile; an edit only over what was read.
    const headers = alias ? { 'if-match': `"${alias.revision}"` } : { 'if-none-match': '*' };
    sendJson<AliasView>('PUT', `${fnPath(functionName)}/aliases/${enc(form.name)}`, spec, headers)
      .then(async ({ body }) => {
        await advanced.save(body.name).catch((error: unknown) => {
          toast(`Saved alias ${body.name}, but not its provisioned instances: ${String(error)}`);
        });
        dlg.close();
        toast(`${alias ? 'Saved' : 'Created'} alias ${body.name} (revision ${body.revision})`);
        await saved();
      })
      .catch((error: unknown) => {
        saving(false);
        if (error instanceof ApiError && error.issues.length) errors.show(error.issues);
        else
          errors.showError(
            h(
              'div',
              null,
              errorBox(error, undefined, 'alias-form-error'),
              error instanceof ApiError &&
                error.code === 'AliasConflict' &&
                h(
                  'p',
                  { class: 'small' },
                  'Someone changed this alias after you opened it. Close the panel and edit it again to start from the current revision.',
                ),
            ),
          );
      });
  });
  dlg.body.append(formEl);
  save.addEventListener('click', (e) => {
    e.preventDefault();
    formEl.requestSubmit();
  });
  editorFooter(dlg, 'alias', save);
  canary.sync();
}
