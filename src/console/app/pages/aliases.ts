import {
  buildAliasSpec,
  describeSpec,
  emptyRule,
  formFromAlias,
  OP_LABELS,
  OP_PLACEHOLDERS,
  OPS,
  SOURCES,
  type AliasForm,
} from '../alias-form.js';
import {
  ApiError,
  enc,
  fnPath,
  getJson,
  request,
  sendJson,
  type AliasSpecView,
  type AliasView,
  type FieldIssue,
  type HistoryEntry,
  type Rule,
} from '../api.js';
import { diffLines } from '../diff.js';
import {
  badge,
  cardHead,
  clear,
  clearOnNextAction,
  colorFor,
  confirmDialog,
  emptyState,
  errorBox,
  field,
  fieldError,
  formatAgo,
  formatPercent,
  formatTime,
  h,
  overlay,
  spinner,
  toast,
} from '../dom.js';
import type { FunctionContext } from './function-context.js';
import { provisionedSection } from '../provisioned-section.js';

const aliasPath = (ctx: FunctionContext, alias: string) => `${fnPath(ctx.name)}/aliases/${enc(alias)}`;

/** Aliases: the list with each one's traffic split, the editor, history with diffs, and rollback. */
export function renderAliasesTab(ctx: FunctionContext, panel: HTMLElement): void {
  const refresh = async () => {
    await ctx.page.reload();
    if (ctx.signal.aborted) return;
    ctx.aliases = ctx.page.aliases;
    ctx.versions = ctx.page.versions;
    renderAliasesTab(ctx, panel);
  };
  const errorArea = h('div');
  const table = h(
    'table',
    { class: 'table', testid: 'alias-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ...['Alias', 'Primary', 'Canary', 'Traffic', 'Revision', ''].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      null,
      ctx.aliases.map((alias) =>
        h(
          'tr',
          { testid: `alias-row-${alias.name}` },
          h(
            'td',
            null,
            h('a', { class: 'strong', href: ctx.page.href('code', alias.name) }, alias.name),
            alias.description && h('div', { class: 'muted small' }, alias.description),
          ),
          h('td', { testid: `alias-primary-${alias.name}` }, alias.version),
          h('td', { testid: `alias-canary-${alias.name}` }, canaryCell(alias)),
          h('td', null, trafficBar(alias)),
          h(
            'td',
            { title: `updated ${alias.updatedAt}` },
            `r${alias.revision}`,
            h('div', { class: 'muted small' }, formatAgo(alias.updatedAt)),
          ),
          h(
            'td',
            { class: 'actions wrap' },
            h(
              'button',
              {
                class: 'btn btn-small',
                type: 'button',
                testid: `edit-alias-${alias.name}`,
                onClick: () => {
                  openEditor(ctx, alias, refresh);
                },
              },
              'Edit',
            ),
            h(
              'button',
              {
                class: 'btn btn-small',
                type: 'button',
                testid: `history-alias-${alias.name}`,
                onClick: () => {
                  openHistory(ctx, alias.name, refresh);
                },
              },
              'History',
            ),
            h(
              'button',
              {
                class: 'btn btn-small',
                type: 'button',
                testid: `explain-alias-${alias.name}`,
                title: 'Which version would serve a request, and why',
                onClick: () => {
                  openExplain(ctx, alias);
                },
              },
              'Explain',
            ),
            h(
              'a',
              {
                class: 'btn btn-small',
                href: ctx.page.href('code', alias.name),
                testid: `test-alias-${alias.name}`,
              },
              'Test',
            ),
            h(
              'button',
              {
                class: 'btn btn-small',
                type: 'button',
                testid: `rollback-alias-${alias.name}`,
                disabled: alias.revision <= 1,
                title: 'Return the alias to its previous configuration',
                onClick: () => void rollback(ctx, alias, { to: 'previous' }, refresh),
              },
              'Roll back',
            ),
            alias.name !== '$DEFAULT' &&
              h(
                'button',
                {
                  class: 'btn btn-small btn-danger-text',
                  type: 'button',
                  testid: `delete-alias-${alias.name}`,
                  onClick: () => void remove(alias),
                },
                'Delete',
              ),
          ),
        ),
      ),
    ),
  );
  const remove = async (alias: AliasView) => {
    const ok = await confirmDialog({
      title: `Delete alias ${alias.name}?`,
      message: h('p', null, `Callers of ${alias.name} will get AliasNotFound. Its history goes with it.`),
      confirm: 'Delete alias',
      danger: true,
    });
    if (!ok) return;
    try {
      await request('DELETE', aliasPath(ctx, alias.name), { headers: { 'if-match': `"${alias.revision}"` } });
      toast(`Deleted alias ${alias.name}`);
      await refresh();
    } catch (error) {
      clear(errorArea, errorBox(error, undefined, 'alias-error'));
    }
  };
  const card = h(
    'section',
    { class: 'card' },
    cardHead(
      'Aliases',
      'An alias points at a primary version and, optionally, a canary version that takes a weight of the traffic or the requests that match rules.',
      h(
        'button',
        {
          class: 'btn btn-primary',
          type: 'button',
          testid: 'create-alias',
          onClick: () => {
            openEditor(ctx, undefined, refresh);
          },
        },
        '+ Create alias',
      ),
    ),
    errorArea,
    ctx.aliases.length ? table : emptyState('No aliases', 'Create an alias to route traffic to versions.'),
  );
  clearOnNextAction(errorArea, card);
  clear(panel, card);
}

function canaryCell(alias: AliasView): Node | string {
  const c = alias.canary;
  if (!c) return h('span', { class: 'muted' }, '—');
  if ('weight' in c) {
    return h(
      'span',
      null,
      `Version ${c.version} · ${formatPercent(c.weight)}`,
      c.sticky && h('div', { class: 'muted small' }, `sticky by ${c.sticky.source} ${c.sticky.name}`),
    );
  }
  const rules = c.rules;
  return h(
    'span',
    null,
    `Version ${c.version} · rules (${c.match})`,
    h(
      'div',
      { class: 'muted small mono' },
      rules
        .map(
          (r) =>
            `${r.source}:${r.name} ${r.op} ${Array.isArray(r.value) ? r.value.join(',') : String(r.value)}`,
        )
        .join(c.match === 'any' ? ' OR ' : ' AND '),
    ),
  );
}

/** The split as a bar with its percentages written under it: "1 · 70 %  2 · 30 %". */
function trafficBar(alias: AliasView): HTMLElement {
  const c = alias.canary;
  const parts =
    c && 'weight' in c
      ? [
          { version: alias.version, share: 1 - c.weight },
          { version: c.version, share: c.weight },
        ]
      : [{ version: alias.version, share: 1 }];
  return h(
    'div',
    { class: 'traffic', testid: `alias-traffic-${alias.name}` },
    h(
      'div',
      { class: 'split-bar' },
      parts.map((p) => h('span', { style: `width:${p.share * 100}%;background:${colorFor(p.version)}` })),
    ),
    h(
      'div',
      { class: 'muted small' },
      c && !('weight' in c)
        ? `${alias.version}, ${c.version} by rules`
        : parts.map((p) => `${p.version} · ${formatPercent(p.share)}`).join('  '),
    ),
  );
}

/** The alias editing panel: primary, canary by weight (slider and number) or by rules, sticky key. */
function openEditor(ctx: FunctionContext, alias: AliasView | undefined, saved: () => Promise<void>): void {
  const latestVersion = ctx.versions.at(-1)?.versionId ?? '$LATEST';
  const form: AliasForm = formFromAlias(alias?.name ?? '', alias, latestVersion);
  const dlg = overlay({
    title: alias ? `Edit alias ${alias.name}` : 'Create alias',
    kind: 'drawer',
    testid: 'alias-editor',
  });
  const errors = new Map<string, ReturnType<typeof fieldError>>();
  const err = (path: string, testid: string) => {
    const el = fieldError(testid);
    errors.set(path, el);
    return el;
  };
  let attempted = false;
  const versionChoices = ['$LATEST', ...ctx.versions.map((v) => v.versionId).reverse()];
  const versionLabel = (v: string) => {
    if (v === '$LATEST') return '$LATEST';
    const d = ctx.versions.find((x) => x.versionId === v)?.description;
    return `Version ${v}${d ? ` — ${d}` : ''}`;
  };
  const versionSelect = (id: string, value: string, testid: string, placeholder?: string) =>
    h(
      'select',
      { id, class: 'input', testid },
      placeholder && h('option', { value: '', selected: value === '' }, placeholder),
      versionChoices.map((v) => h('option', { value: v, selected: v === value }, versionLabel(v))),
    );

  const name = h('input', {
    id: 'alias-name',
    class: 'input',
    testid: 'alias-name',
    value: form.name,
    readonly: !form.creating,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'alias1',
    autofocus: form.creating,
  });
  const description = h('input', {
    id: 'alias-description',
    class: 'input',
    testid: 'alias-description',
    value: form.description,
    maxlength: 256,
  });
  const primary = versionSelect('alias-primary', form.primary, 'alias-primary');
  const canaryToggle = h('input', {
    id: 'alias-canary-enabled',
    type: 'checkbox',
    testid: 'canary-enabled',
    checked: form.canaryEnabled,
  });
  const canaryVersion = versionSelect(
    'alias-canary-version',
    form.canaryVersion,
    'canary-version',
    'Choose a version',
  );
  const modeWeight = h('input', {
    type: 'radio',
    name: 'canary-mode',
    value: 'weight',
    testid: 'mode-weight',
    checked: form.mode === 'weight',
  });
  const modeRules = h('input', {
    type: 'radio',
    name: 'canary-mode',
    value: 'rules',
    testid: 'mode-rules',
    checked: form.mode === 'rules',
  });
  const slider = h('input', {
    id: 'weight-slider',
    type: 'range',
    min: 0,
    max: 100,
    step: 0.01,
    class: 'slider',
    testid: 'weight-slider',
    'aria-label': 'Canary weight (slider)',
    value: form.weightPercent,
  });
  const weight = h('input', {
    id: 'weight-input',
    type: 'number',
    min: 0,
    max: 100,
    step: 0.01,
    class: 'input weight-input',
    testid: 'weight-input',
    value: form.weightPercent,
    inputmode: 'decimal',
  });
  const splitPreview = h('div', { class: 'split-preview', testid: 'split-preview' });
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
  const matchAll = h('input', {
    type: 'radio',
    name: 'rule-match',
    value: 'all',
    testid: 'match-all',
    checked: form.match === 'all',
  });
  const matchAny = h('input', {
    type: 'radio',
    name: 'rule-match',
    value: 'any',
    testid: 'match-any',
    checked: form.match === 'any',
  });
  const rulesHost = h('div', { class: 'rules', testid: 'rules' });
  const rulesError = err('canary.rules', 'error-canary.rules');
  const formError = h('div');

  const drawSplit = () => {
    const pct = Number(weight.value);
    const valid = weight.value.trim() !== '' && Number.isFinite(pct) && pct >= 0 && pct <= 100;
    const c = valid ? pct : 0;
    const p = Math.round((100 - c) * 100) / 100;
    clear(
      splitPreview,
      h(
        'div',
        { class: 'split-bar big' },
        h('span', { style: `width:${p}%;background:${colorFor(primary.value || 'primary')}` }),
        h('span', { style: `width:${c}%;background:${colorFor(canaryVersion.value || 'canary')}` }),
      ),
      h(
        'div',
        { class: 'split-legend' },
        h('span', null, `Primary ${primary.value || '?'}: ${valid ? `${p} %` : '—'}`),
        h('span', null, `Canary ${canaryVersion.value || '?'}: ${valid ? `${c} %` : '—'}`),
      ),
    );
  };

  const drawRules = () => {
    for (const key of [...errors.keys()]) if (key.startsWith('canary.rules[')) errors.delete(key);
    clear(
      rulesHost,
      form.rules.map((rule, i) => {
        const at = `canary.rules[${i}]`;
        const source = h(
          'select',
          { class: 'input', testid: `rule-source-${i}`, 'aria-label': `Rule ${i + 1} source` },
          SOURCES.map((s) => h('option', { value: s, selected: s === rule.source }, s)),
        );
        const ruleName = h('input', {
          class: 'input mono',
          testid: `rule-name-${i}`,
          value: rule.name,
          placeholder: rule.source === 'header' ? 'x-test-uid' : 'name',
          'aria-label': `Rule ${i + 1} parameter name`,
          spellcheck: 'false',
        });
        const op = h(
          'select',
          { class: 'input', testid: `rule-op-${i}`, 'aria-label': `Rule ${i + 1} condition` },
          OPS.map((o) => h('option', { value: o, selected: o === rule.op }, OP_LABELS[o])),
        );
        const value = h('input', {
          class: 'input mono',
          testid: `rule-value-${i}`,
          value: rule.value,
          placeholder: OP_PLACEHOLDERS[rule.op],
          'aria-label': `Rule ${i + 1} value`,
          spellcheck: 'false',
        });
        source.addEventListener('change', () => {
          rule.source = source.value as typeof rule.source;
          revalidate();
        });
        ruleName.addEventListener('input', () => {
          rule.name = ruleName.value;
          revalidate();
        });
        op.addEventListener('change', () => {
          rule.op = op.value as typeof rule.op;
          value.placeholder = OP_PLACEHOLDERS[rule.op];
          revalidate();
        });
        value.addEventListener('input', () => {
          rule.value = value.value;
          revalidate();
        });
        return h(
          'div',
          { class: 'rule-row', testid: `rule-${i}` },
          h(
            'div',
            { class: 'rule-fields' },
            source,
            h('div', null, ruleName, err(`${at}.name`, `error-rule-name-${i}`)),
            op,
            h('div', null, value, err(`${at}.value`, `error-rule-value-${i}`)),
            h(
              'button',
              {
                class: 'icon-btn',
                type: 'button',
                'aria-label': `Remove rule ${i + 1}`,
                testid: `rule-remove-${i}`,
                onClick: () => {
                  form.rules.splice(i, 1);
                  drawRules();
                  revalidate();
                },
              },
              '×',
            ),
          ),
        );
      }),
      h(
        'button',
        {
          class: 'btn btn-small',
          type: 'button',
          testid: 'add-rule',
          onClick: () => {
            form.rules.push(emptyRule());
            drawRules();
            rulesHost
              .querySelector<HTMLElement>(`[data-testid="rule-name-${form.rules.length - 1}"]`)
              ?.focus();
          },
        },
        '+ Add rule',
      ),
    );
  };

  const weightSection = h(
    'div',
    { class: 'subsection', testid: 'weight-section' },
    h('label', { for: 'weight-input' }, 'Canary release version weight'),
    h('div', { class: 'weight-row' }, slider, weight, h('span', null, '%')),
    err('canary.weight', 'error-canary.weight'),
    splitPreview,
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
    err('canary.sticky', 'error-canary.sticky'),
    err('canary.sticky.name', 'error-canary.sticky.name'),
  );
  const rulesSection = h(
    'div',
    { class: 'subsection', testid: 'rules-section' },
    h(
      'fieldset',
      { class: 'inline-radios' },
      h('legend', null, 'Rule pattern'),
      h('label', null, matchAll, ' Meet all of the following rules'),
      h('label', null, matchAny, ' Meet any of the following rules'),
    ),
    h(
      'div',
      { class: 'rule-head' },
      h('span', null, 'Source'),
      h('span', null, 'Parameter'),
      h('span', null, 'Condition'),
      h('span', null, 'Value'),
      h('span', null, ''),
    ),
    rulesHost,
    rulesError,
    h(
      'div',
      { class: 'hint' },
      'Header names are case-insensitive; >, <, >=, <= and range compare numbers; “in” takes a comma-separated list; “percent” N matches a stable N % of the parameter’s values. A request without the parameter fails the rule.',
    ),
  );
  const canarySection = h(
    'div',
    { class: 'canary-section' },
    field('Canary release version', canaryVersion, { error: err('canary.version', 'error-canary.version') }),
    h(
      'fieldset',
      { class: 'inline-radios' },
      h('legend', null, 'Canary release type'),
      h('label', null, modeWeight, ' Random grayscale (weight)'),
      h('label', null, modeRules, ' Rule-based'),
    ),
    weightSection,
    rulesSection,
  );
  err('canary', 'error-canary');

  const sync = () => {
    canarySection.hidden = !canaryToggle.checked;
    weightSection.hidden = form.mode !== 'weight';
    rulesSection.hidden = form.mode !== 'rules';
    stickyName.disabled = stickySource.value === '';
    drawSplit();
  };

  const showIssues = (issues: readonly FieldIssue[]) => {
    for (const [path, el] of errors) {
      const mine = issues.filter((i) => i.path === path);
      el.set(mine.length ? mine.map((i) => i.message).join('; ') : undefined);
    }
    const unplaced = issues.filter((i) => !errors.has(i.path));
    clear(
      formError,
      unplaced.length > 0 &&
        h(
          'div',
          { class: 'alert alert-error', role: 'alert', testid: 'alias-form-error' },
          unplaced.map((i) => h('div', null, i.path ? `${i.path}: ${i.message}` : i.message)),
        ),
    );
  };

  const readForm = () => {
    form.name = name.value.trim();
    form.description = description.value;
    form.primary = primary.value;
    form.canaryEnabled = canaryToggle.checked;
    form.canaryVersion = canaryVersion.value;
    form.mode = modeRules.checked ? 'rules' : 'weight';
    form.weightPercent = weight.value;
    form.stickySource = stickySource.value as AliasForm['stickySource'];
    form.stickyName = stickyName.value;
    form.match = matchAny.checked ? 'any' : 'all';
  };

  function revalidate(): void {
    sync();
    if (!attempted) return;
    readForm();
    showIssues(buildAliasSpec(form).issues);
  }

  slider.addEventListener('input', () => {
    weight.value = slider.value;
    revalidate();
  });
  weight.addEventListener('input', () => {
    const n = Number(weight.value);
    if (weight.value.trim() !== '' && Number.isFinite(n))
      slider.value = String(Math.min(100, Math.max(0, n)));
    revalidate();
  });
  for (const el of [name, description, stickyName]) el.addEventListener('input', revalidate);
  for (const el of [primary, canaryVersion, stickySource, canaryToggle, matchAll, matchAny])
    el.addEventListener('change', revalidate);
  for (const el of [modeWeight, modeRules]) {
    el.addEventListener('change', () => {
      form.mode = modeRules.checked ? 'rules' : 'weight';
      revalidate();
    });
  }

  const advanced = provisionedSection(ctx.name, alias?.name);
  // The panel's footer is outside the form: OK submits it, so that Enter in a field does the same.
  const save = h('button', { class: 'btn btn-primary', type: 'button', testid: 'alias-save' }, 'OK');
  const formEl = h(
    'form',
    { class: 'stack', novalidate: true },
    field('Alias name', name, {
      error: err('name', 'error-name'),
      hint: form.creating
        ? 'Starts with a letter; letters, digits, _ and -. Cannot be renamed later.'
        : 'Aliases cannot be renamed.',
      required: true,
    }),
    field('Description', description, { error: err('description', 'error-description') }),
    field('Primary version', primary, { error: err('version', 'error-version'), required: true }),
    h('label', { class: 'toggle' }, canaryToggle, ' Enable canary release version'),
    canarySection,
    advanced.element,
    formError,
  );
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    attempted = true;
    readForm();
    const { spec, issues } = buildAliasSpec(form);
    showIssues(issues);
    const advancedIssues = advanced.validate();
    if (!spec || advancedIssues.length > 0) {
      dlg.element.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    save.disabled = true;
    save.textContent = 'Saving…';
    const headers: Record<string, string> = alias
      ? { 'if-match': `"${alias.revision}"` }
      : { 'if-none-match': '*' };
    sendJson<AliasView>('PUT', aliasPath(ctx, form.name), spec, headers)
      .then(async ({ body }) => {
        await advanced.save(body.name).catch((error: unknown) => {
          toast(`Saved alias ${body.name}, but not its provisioned instances: ${String(error)}`);
        });
        dlg.close();
        toast(`${alias ? 'Saved' : 'Created'} alias ${body.name} (revision ${body.revision})`);
        await saved();
      })
      .catch((error: unknown) => {
        save.disabled = false;
        save.textContent = 'OK';
        if (error instanceof ApiError && error.issues.length) showIssues(error.issues);
        else
          clear(
            formError,
            errorBox(error, undefined, 'alias-form-error'),
            error instanceof ApiError &&
              error.code === 'AliasConflict' &&
              h(
                'p',
                { class: 'small' },
                'Someone changed this alias after you opened it. Close the panel and edit it again to start from the current revision.',
              ),
          );
      });
  });
  dlg.body.append(formEl);
  save.addEventListener('click', (e) => {
    e.preventDefault();
    formEl.requestSubmit();
  });
  dlg.footer.append(
    h('button', { class: 'btn', type: 'button', testid: 'alias-cancel', onClick: dlg.close }, 'Cancel'),
    save,
  );
  drawRules();
  sync();
}

/** Rolls an alias back after confirmation; `target` as the API takes it. */
async function rollback(
  ctx: FunctionContext,
  alias: AliasView,
  target: { to: 'previous' } | { to: 'primary' } | { revision: number },
  done: () => Promise<void>,
  history?: HistoryEntry[],
): Promise<void> {
  let entries = history;
  if (!entries && 'to' in target && target.to === 'previous') {
    try {
      entries = (await getJson<{ history: HistoryEntry[] }>(`${aliasPath(ctx, alias.name)}/history`)).history;
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
    const { body } = await sendJson<AliasView>('POST', `${aliasPath(ctx, alias.name)}/rollback`, target, {
      'if-match': `"${alias.revision}"`,
    });
    toast(`Rolled back ${alias.name}: ${describeSpec(body)}`);
    await done();
  } catch (error) {
    toast(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error), 'error');
  }
}

function specLines(spec: AliasSpecView | null): string {
  return spec ? JSON.stringify(spec, null, 2) : '';
}

/** Every revision of an alias, newest first, each with the diff it made; rollback from here too. */
function openHistory(ctx: FunctionContext, aliasName: string, changed: () => Promise<void>): void {
  const dlg = overlay({
    title: `History of ${aliasName}`,
    kind: 'drawer',
    testid: 'alias-history',
    wide: true,
  });
  const load = async () => {
    clear(dlg.body, spinner('Loading history…'));
    try {
      const [history, alias] = await Promise.all([
        getJson<{ history: HistoryEntry[] }>(`${aliasPath(ctx, aliasName)}/history`).then((r) => r.history),
        getJson<AliasView>(aliasPath(ctx, aliasName)),
      ]);
      const after = async () => {
        await changed();
        await load();
      };
      const entries = [...history].sort((a, b) => b.revision - a.revision);
      clear(
        dlg.body,
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
                onClick: () => void rollback(ctx, alias, { to: 'previous' }, after, history),
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
                  onClick: () => void rollback(ctx, alias, { to: 'primary' }, after, history),
                },
                `All traffic to ${alias.version}`,
              ),
          ),
        ),
        h(
          'ol',
          { class: 'timeline', testid: 'history-list' },
          entries.map((entry) => {
            const lines = diffLines(specLines(entry.before), specLines(entry.after));
            return h(
              'li',
              { class: 'timeline-item', testid: `history-${entry.revision}` },
              h(
                'div',
                { class: 'timeline-head' },
                badge(
                  `r${entry.revision}`,
                  entry.revision === alias.revision ? 'badge-accent' : 'badge-muted',
                ),
                h('strong', null, entry.action),
                h('span', { class: 'muted small' }, `by ${entry.actor} · ${formatTime(entry.at)}`),
                entry.revision === alias.revision && badge('current', 'badge-ok'),
                h('span', { class: 'spacer' }),
                entry.after &&
                  entry.revision !== alias.revision &&
                  h(
                    'button',
                    {
                      class: 'btn btn-small',
                      type: 'button',
                      testid: `restore-${entry.revision}`,
                      onClick: () => void rollback(ctx, alias, { revision: entry.revision }, after, history),
                    },
                    'Restore',
                  ),
              ),
              h('div', { class: 'small' }, describeSpec(entry.after)),
              h(
                'details',
                { class: 'diff-details' },
                h('summary', null, 'Diff'),
                h(
                  'pre',
                  { class: 'diff' },
                  lines.map((l) =>
                    h(
                      'div',
                      { class: `diff-${l.kind}` },
                      `${l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ' '} ${l.text}`,
                    ),
                  ),
                ),
              ),
            );
          }),
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

interface Explanation {
  alias: string;
  revision: number;
  version: string;
  target: 'primary' | 'canary';
  reason: 'no canary' | 'weight' | 'rules';
  weight?: number;
  sticky?: { source: string; name: string; value: string; bucket: number };
  draw?: number;
  match?: 'all' | 'any';
  conditions?: { condition: Rule; value: string | undefined; holds: boolean }[];
}

/** `name: value` (or `name=value`) lines into an object; the first line that is neither is reported. */
function parsePairs(text: string, label: string): { values: Record<string, string>; error?: string } {
  const values: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.search(/[:=]/);
    if (at <= 0) return { values, error: `${label}, line ${i + 1}: write name: value` };
    values[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return { values };
}

/** Which version a request with these attributes would get from the alias, and why (the explain API). */
function openExplain(ctx: FunctionContext, alias: AliasView): void {
  const dlg = overlay({
    title: `Which version would serve a request to ${alias.name}?`,
    testid: 'explain-dialog',
    wide: true,
  });
  const area = (id: string, placeholder: string) =>
    h('textarea', { id, class: 'input mono', rows: 2, placeholder, testid: id, spellcheck: 'false' });
  const headers = area('explain-headers', 'x-test-uid: tester');
  const cookies = area('explain-cookies', 'uid=42');
  const query = area('explain-query', 'beta=1');
  const key = area('explain-key', 'userId: 42');
  const error = fieldError('explain-error');
  const out = h('div', { testid: 'explain-result', 'aria-live': 'polite' });
  const run = async () => {
    const parts = [
      ['headers', parsePairs(headers.value, 'Headers')],
      ['cookies', parsePairs(cookies.value, 'Cookies')],
      ['query', parsePairs(query.value, 'Query')],
      ['routingKey', parsePairs(key.value, 'Routing key')],
    ] as const;
    const problem = parts.find(([, p]) => p.error)?.[1].error;
    error.set(problem);
    if (problem) return;
    const body: Record<string, Record<string, string>> = {};
    for (const [name, p] of parts) if (Object.keys(p.values).length) body[name] = p.values;
    clear(out, spinner('Asking the router…'));
    try {
      const { body: e } = await sendJson<Explanation>('POST', `${aliasPath(ctx, alias.name)}/explain`, body);
      const why =
        e.reason === 'no canary'
          ? 'The alias has no canary: every request goes to its primary version.'
          : e.reason === 'weight'
            ? e.sticky
              ? `Sticky by ${e.sticky.source} ${e.sticky.name} = “${e.sticky.value}”: its bucket ${e.sticky.bucket} against a weight of ${formatPercent(e.weight ?? 0)}.`
              : `A random draw (${(e.draw ?? 0).toFixed(4)}) against a weight of ${formatPercent(e.weight ?? 0)}: another request may go elsewhere.`
            : `Rules, ${e.match === 'any' ? 'any' : 'all'} of which must hold:`;
      clear(
        out,
        h(
          'div',
          { class: `result-status ${e.target === 'canary' ? 'canary' : 'ok'}`, testid: 'explain-version' },
          `Version ${e.version} (${e.target})`,
        ),
        h('p', null, why),
        e.conditions &&
          h(
            'table',
            { class: 'table' },
            h(
              'thead',
              null,
              h('tr', null, ...['Condition', 'Request value', 'Holds'].map((t) => h('th', null, t))),
            ),
            h(
              'tbody',
              null,
              e.conditions.map((c) =>
                h(
                  'tr',
                  null,
                  h(
                    'td',
                    { class: 'mono small' },
                    `${c.condition.source}:${c.condition.name} ${c.condition.op} ${Array.isArray(c.condition.value) ? c.condition.value.join(', ') : String(c.condition.value)}`,
                  ),
                  h('td', { class: 'mono small' }, c.value ?? '(absent)'),
                  h('td', null, c.holds ? badge('yes', 'badge-ok') : badge('no', 'badge-bad')),
                ),
              ),
            ),
          ),
      );
    } catch (err) {
      clear(out, errorBox(err));
    }
  };
  dlg.body.append(
    h(
      'p',
      { class: 'muted small' },
      `The same decision the router takes for ${alias.name} at revision ${alias.revision}: ${describeSpec(alias)}.`,
    ),
    h(
      'div',
      { class: 'form-grid' },
      field('Headers (name: value per line)', headers),
      field('Cookies', cookies),
      field('Query parameters', query),
      field('Routing key (invoke API)', key),
    ),
    error,
    out,
  );
  dlg.footer.append(
    h('button', { class: 'btn', type: 'button', onClick: dlg.close }, 'Close'),
    h(
      'button',
      { class: 'btn btn-primary', type: 'button', testid: 'explain-run', onClick: () => void run() },
      'Explain',
    ),
  );
}
