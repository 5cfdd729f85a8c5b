import { ApiError, enc, fnPath, request, sendJson, type FunctionConfig, type VersionView } from '../api.js';
import { diffLines } from '../diff.js';
import {
  badge,
  clear,
  clearOnNextAction,
  confirmDialog,
  dataTable,
  emptyState,
  errorBox,
  formatAgo,
  formatBytes,
  h,
  spinner,
  toast,
} from '../dom.js';
import { createDiff } from '../editor.js';
import { onLeave } from '../router.js';
import { readZip } from '../zip.js';
import type { FunctionContext } from './function-context.js';
import { inUseHelp } from './in-use.js';

/** Versions: publish $LATEST, the list, a version's code and configuration, compare two, delete. */
export function renderVersionsTab(ctx: FunctionContext, panel: HTMLElement): void {
  const description = h('input', {
    id: 'publish-description',
    class: 'input',
    maxlength: 256,
    placeholder: 'What changed (optional)',
    testid: 'publish-description',
  });
  const publishButton = h(
    'button',
    { class: 'btn btn-primary', type: 'submit', testid: 'publish-button' },
    'Publish new version',
  );
  const publishResult = h('div', { 'aria-live': 'polite' });
  const listError = h('div');
  const publishForm = h(
    'form',
    { class: 'card card-pad publish', novalidate: true },
    h(
      'div',
      null,
      h('h2', null, 'Publish a version'),
      h(
        'p',
        { class: 'muted small' },
        'A version is an immutable snapshot of $LATEST’s code and configuration, numbered 1, 2, 3 …. Publishing is refused when nothing changed since the latest version.',
      ),
    ),
    h(
      'div',
      { class: 'publish-row' },
      h('label', { for: 'publish-description', class: 'sr-only' }, 'Description'),
      description,
      publishButton,
    ),
    publishResult,
  );
  publishForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(publishResult);
    publishButton.disabled = true;
    sendJson<VersionView>('POST', `${fnPath(ctx.name)}/versions`, { description: description.value })
      .then(async ({ body }) => {
        toast(`Published version ${body.versionId}`);
        await ctx.page.reload();
        if (ctx.signal.aborted) return;
        ctx.versions = ctx.page.versions;
        renderVersionsTab(ctx, panel);
        const row = panel.querySelector(`[data-testid="version-row-${body.versionId}"]`);
        row?.classList.add('flash');
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'NothingToPublish') {
          const latest = ctx.versions.at(-1);
          clear(
            publishResult,
            h(
              'div',
              { class: 'alert alert-warn', role: 'alert', testid: 'publish-error' },
              h('div', { class: 'alert-title' }, 'Nothing to publish'),
              h('div', { class: 'alert-body' }, error.message),
              h(
                'div',
                { class: 'alert-hint' },
                `$LATEST has the same code and configuration as ${latest ? `version ${latest.versionId}` : 'the latest version'}. Deploy a change or edit the configuration first.`,
              ),
            ),
          );
        } else {
          clear(publishResult, errorBox(error, undefined, 'publish-error'));
        }
      })
      .finally(() => {
        publishButton.disabled = false;
      });
  });

  const usedBy = (versionId: string) =>
    ctx.aliases.filter((a) => a.version === versionId || a.canary?.version === versionId).map((a) => a.name);

  const remove = async (v: VersionView) => {
    const users = usedBy(v.versionId);
    const ok = await confirmDialog({
      title: `Delete version ${v.versionId}?`,
      message: h(
        'div',
        null,
        h('p', null, `Version ${v.versionId} goes for good; its number is never reused.`),
        users.length > 0 &&
          h(
            'p',
            { class: 'warn-text' },
            `Aliases use it (${users.join(', ')}): the server will refuse until they are repointed.`,
          ),
      ),
      confirm: 'Delete version',
      danger: true,
    });
    if (!ok) return;
    clear(listError);
    try {
      await request('DELETE', `${fnPath(ctx.name)}/versions/${enc(v.versionId)}`);
      toast(`Deleted version ${v.versionId}`);
      await ctx.page.reload();
      if (ctx.signal.aborted) return;
      ctx.versions = ctx.page.versions;
      ctx.aliases = ctx.page.aliases;
      renderVersionsTab(ctx, panel);
    } catch (error) {
      clear(listError, errorBox(error, undefined, 'version-error'), inUseHelp(error, ctx.page));
    }
  };

  const versions = [...ctx.versions].reverse();
  const list = versions.length
    ? dataTable(
        [
          'Version',
          'Description',
          'Runtime · handler',
          'Memory · timeout',
          'Code',
          'Used by',
          'Published',
          '',
        ],
        versions.map((v) => {
          const users = usedBy(v.versionId);
          return h(
            'tr',
            { testid: `version-row-${v.versionId}` },
            h(
              'td',
              null,
              h('a', { class: 'strong', href: ctx.page.href('code', v.versionId) }, `Version ${v.versionId}`),
            ),
            h('td', null, v.description || h('span', { class: 'muted' }, '—')),
            h('td', null, `${v.config.runtime} · `, h('code', null, v.config.handler)),
            h('td', null, `${v.config.memorySize} MB · ${v.config.timeout} s`),
            h(
              'td',
              { title: v.codeSha256 },
              h('code', { class: 'small' }, v.codeSha256.slice(0, 10)),
              ' ',
              h('span', { class: 'muted small' }, formatBytes(v.codeSize)),
            ),
            h(
              'td',
              null,
              users.length ? users.map((u) => badge(u, 'badge-accent')) : h('span', { class: 'muted' }, '—'),
            ),
            h('td', { title: v.createdAt }, formatAgo(v.createdAt)),
            h(
              'td',
              { class: 'actions' },
              h(
                'a',
                {
                  class: 'btn btn-small',
                  href: ctx.page.href('code', v.versionId),
                  testid: `view-version-${v.versionId}`,
                },
                'Code',
              ),
              h('a', { class: 'btn btn-small', href: ctx.page.href('config', v.versionId) }, 'Config'),
              h(
                'button',
                {
                  class: 'btn btn-small btn-danger-text',
                  type: 'button',
                  testid: `delete-version-${v.versionId}`,
                  onClick: () => void remove(v),
                },
                'Delete',
              ),
            ),
          );
        }),
        { testid: 'version-table' },
      )
    : emptyState(
        'No versions yet',
        'Publish $LATEST to create version 1. Aliases then point at versions, and a canary splits traffic between two.',
      );

  const listCard = h(
    'section',
    { class: 'card' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', null, 'Published versions'),
      h('span', { class: 'muted' }, `${versions.length} version${versions.length === 1 ? '' : 's'}`),
    ),
    listError,
    list,
  );
  const compare = compareCard(ctx);
  // A refused publish or delete is shown until the next action anywhere in the tab.
  for (const area of [publishResult, listError]) clearOnNextAction(area, publishForm, listCard, compare);
  clear(panel, publishForm, listCard, compare);
}

const CONFIG_LABELS: [keyof FunctionConfig, string][] = [
  ['runtime', 'Runtime'],
  ['handler', 'Handler'],
  ['memorySize', 'Memory (MB)'],
  ['timeout', 'Timeout (s)'],
  ['instanceConcurrency', 'Instance concurrency'],
  ['network', 'Network'],
  ['environmentVariables', 'Environment variables'],
  ['description', 'Description'],
];

/** Two versions (or a version and $LATEST) side by side: configuration and every file. */
function compareCard(ctx: FunctionContext): HTMLElement {
  const choices = ['$LATEST', ...ctx.versions.map((v) => v.versionId).reverse()];
  const select = (id: string, value: string) =>
    h(
      'select',
      { id, class: 'input', testid: id },
      choices.map((c) =>
        h('option', { value: c, selected: c === value }, c === '$LATEST' ? '$LATEST' : `Version ${c}`),
      ),
    );
  const a = select(
    'compare-a',
    ctx.versions.at(-2)?.versionId ?? ctx.versions.at(-1)?.versionId ?? '$LATEST',
  );
  const b = select('compare-b', ctx.versions.at(-1)?.versionId ?? '$LATEST');
  if (a.value === b.value) b.value = '$LATEST';
  const out = h('div', { testid: 'compare-result' });
  const button = h('button', { class: 'btn', type: 'button', testid: 'compare-button' }, 'Compare');
  const views: { destroy(): void }[] = [];
  onLeave(() => {
    for (const v of views) v.destroy();
  });

  const configOf = (q: string): FunctionConfig | undefined =>
    q === '$LATEST' ? ctx.page.fn : ctx.versions.find((v) => v.versionId === q)?.config;

  const compare = async () => {
    for (const v of views.splice(0)) v.destroy();
    clear(out, spinner('Comparing…'));
    try {
      const load = async (q: string) => {
        const query = q === '$LATEST' ? '' : `?qualifier=${enc(q)}`;
        const res = await request('GET', `${fnPath(ctx.name)}/code${query}`, { signal: ctx.signal });
        return readZip(await res.arrayBuffer());
      };
      const [filesA, filesB] = await Promise.all([load(a.value), load(b.value)]);
      const ca = configOf(a.value);
      const cb = configOf(b.value);
      const rows = CONFIG_LABELS.map(([key, label]) => {
        const va = ca ? JSON.stringify(ca[key]) : '';
        const vb = cb ? JSON.stringify(cb[key]) : '';
        return h(
          'tr',
          { class: va === vb ? '' : 'changed' },
          h('th', { scope: 'row' }, label),
          h('td', { class: 'mono small' }, va),
          h('td', { class: 'mono small' }, vb),
        );
      });
      const paths = [...new Set([...filesA.map((f) => f.path), ...filesB.map((f) => f.path)])].sort();
      const fileSections = paths.map((path) => {
        const fa = filesA.find((f) => f.path === path);
        const fb = filesB.find((f) => f.path === path);
        const ta = fa?.text ?? (fa ? `(binary, ${fa.bytes.length} bytes)` : '');
        const tb = fb?.text ?? (fb ? `(binary, ${fb.bytes.length} bytes)` : '');
        const status = !fa ? 'added' : !fb ? 'removed' : ta === tb ? 'unchanged' : 'changed';
        const stats = diffLines(ta, tb);
        const added = stats.filter((l) => l.kind === 'add').length;
        const removed = stats.filter((l) => l.kind === 'del').length;
        const host = h('div', { class: 'merge-host' });
        const details = h(
          'details',
          { class: 'file-diff', open: status !== 'unchanged', testid: `diff-${path}` },
          h(
            'summary',
            null,
            h('span', { class: 'mono' }, path),
            ' ',
            badge(status, status === 'unchanged' ? 'badge-muted' : 'badge-warn'),
            status !== 'unchanged' &&
              h(
                'span',
                { class: 'small' },
                h('span', { class: 'diff-add' }, ` +${added}`),
                h('span', { class: 'diff-del' }, ` −${removed}`),
              ),
          ),
          host,
        );
        let mounted = false;
        const mount = () => {
          if (mounted || !details.open) return;
          mounted = true;
          views.push(createDiff(host, ta, tb, path));
        };
        details.addEventListener('toggle', mount);
        queueMicrotask(mount);
        return details;
      });
      const label = (q: string) => (q === '$LATEST' ? '$LATEST' : `Version ${q}`);
      clear(
        out,
        h('h3', null, 'Configuration'),
        h(
          'table',
          { class: 'table compare-table' },
          h(
            'thead',
            null,
            h('tr', null, h('th', null, ''), h('th', null, label(a.value)), h('th', null, label(b.value))),
          ),
          h('tbody', null, rows),
        ),
        h('h3', null, 'Code'),
        fileSections.length ? fileSections : h('p', { class: 'muted' }, 'Neither has files.'),
      );
    } catch (error) {
      if (!ctx.signal.aborted) clear(out, errorBox(error));
    }
  };
  button.addEventListener('click', () => void compare());
  return h(
    'section',
    { class: 'card card-pad' },
    h('h2', null, 'Compare versions'),
    ctx.versions.length === 0
      ? h('p', { class: 'muted' }, 'Publish a version to compare it with $LATEST or with another version.')
      : [
          h(
            'div',
            { class: 'compare-row' },
            h('label', { for: 'compare-a' }, 'From'),
            a,
            h('label', { for: 'compare-b' }, 'to'),
            b,
            button,
          ),
          out,
        ],
  );
}
