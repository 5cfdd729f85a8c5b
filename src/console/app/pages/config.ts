import { ApiError, fnPath, sendJson, type FunctionConfig, type FunctionView } from '../api.js';
import { configForm } from '../config-form.js';
import { clear, errorBox, formatBytes, formatTime, h, toast } from '../dom.js';
import { describeQualifier, qualifierKind, type FunctionContext } from './function-context.js';

/** The configuration of $LATEST (editable) or of a version or an alias's primary (read-only). */
export function renderConfigTab(ctx: FunctionContext, panel: HTMLElement): void {
  const kind = qualifierKind(ctx.qualifier);
  let config: FunctionConfig = ctx.fn;
  let codeSha = ctx.fn.codeSha256;
  let codeSize = ctx.fn.codeSize;
  let created = ctx.fn.updatedAt;
  if (kind !== 'latest') {
    const versionId =
      kind === 'version' ? ctx.qualifier : ctx.aliases.find((a) => a.name === ctx.qualifier)?.version;
    const version = ctx.versions.find((v) => v.versionId === versionId);
    if (version) {
      config = version.config;
      codeSha = version.codeSha256;
      codeSize = version.codeSize;
      created = version.createdAt;
    } else if (versionId !== '$LATEST') {
      clear(
        panel,
        errorBox(new Error(`${describeQualifier(ctx, ctx.qualifier)} has no published version to show`)),
      );
      return;
    }
  }
  const readOnly = kind !== 'latest';
  const form = configForm(config, { readOnly });
  const status = h('div');
  const save = h(
    'button',
    { class: 'btn btn-primary', type: 'submit', testid: 'config-save' },
    'Save configuration',
  );
  const el = h(
    'form',
    { class: 'stack', novalidate: true },
    readOnly &&
      h(
        'div',
        { class: 'notice' },
        h('strong', null, 'Read-only: '),
        `the configuration of ${describeQualifier(ctx, ctx.qualifier)}.`,
      ),
    h('section', { class: 'card card-pad' }, h('h2', null, 'Settings'), form.element),
    h(
      'section',
      { class: 'card card-pad' },
      h('h2', null, 'Code package'),
      h(
        'dl',
        { class: 'kv-grid' },
        h('div', { class: 'kv' }, h('dt', null, 'sha256'), h('dd', { class: 'mono small' }, codeSha)),
        h('div', { class: 'kv' }, h('dt', null, 'Size (zipped)'), h('dd', null, formatBytes(codeSize))),
        h(
          'div',
          { class: 'kv' },
          h('dt', null, readOnly ? 'Published' : 'Last changed'),
          h('dd', null, formatTime(created)),
        ),
      ),
    ),
    status,
    !readOnly && h('div', { class: 'form-actions' }, save),
  );
  // Once a save was refused, each message goes as soon as its field is right.
  let attempted = false;
  const recheck = () => {
    if (attempted) form.showIssues(form.read().issues);
  };
  el.addEventListener('input', recheck);
  el.addEventListener('change', recheck);
  el.addEventListener('submit', (e) => {
    e.preventDefault();
    if (readOnly) return;
    clear(status);
    attempted = true;
    const read = form.read();
    form.showIssues(read.issues);
    if (!read.config) return;
    const patch: Partial<FunctionConfig> = {};
    for (const key of Object.keys(read.config) as (keyof FunctionConfig)[]) {
      if (JSON.stringify(read.config[key]) !== JSON.stringify(ctx.fn[key]))
        (patch as Record<string, unknown>)[key] = read.config[key];
    }
    if (Object.keys(patch).length === 0) {
      toast('Nothing changed', 'info');
      return;
    }
    save.disabled = true;
    sendJson<FunctionView>('PATCH', fnPath(ctx.name), patch)
      .then(async () => {
        toast('Configuration saved to $LATEST');
        await ctx.page.reload();
        if (!ctx.signal.aborted && ctx.page.fn) {
          ctx.fn = ctx.page.fn;
          renderConfigTab(ctx, panel);
        }
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError) form.showIssues(error.issues);
        clear(status, errorBox(error, undefined, 'config-error'));
      })
      .finally(() => {
        save.disabled = false;
      });
  });
  clear(panel, el);
}
