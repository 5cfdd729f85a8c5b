import {
  ApiError,
  fnPath,
  getJson,
  listAll,
  request,
  type AliasView,
  type FunctionView,
  type VersionView,
} from '../api.js';
import { RUNTIME_LABELS } from '../config-form.js';
import { badge, clear, confirmDialog, errorBox, h, spinner, toast } from '../dom.js';
import { functionHref, go, onLeave } from '../router.js';
import { renderAliasesTab } from './aliases.js';
import { renderAsyncTab } from './async.js';
import type { CodeDraft } from '../code-draft.js';
import { renderCodeTab } from './code.js';
import { renderConfigTab } from './config.js';
import {
  aliasCanaryText,
  describeQualifier,
  qualifierKind,
  type FunctionContext,
  type FunctionPageState,
  TABS,
  type Tab,
} from './function-context.js';
import { renderMonitoringTab } from './monitoring.js';
import { renderRolloutsTab } from './rollouts.js';
import { renderStagesTab } from './stages.js';
import { renderTriggersTab } from './triggers.js';
import { renderVersionsTab } from './versions.js';

const TAB_LABELS: Record<Tab, string> = {
  code: 'Code',
  config: 'Configuration',
  versions: 'Versions',
  aliases: 'Aliases',
  rollouts: 'Rollouts',
  monitoring: 'Monitoring',
  stages: 'Stages',
  triggers: 'Triggers',
  async: 'Async invocations',
};

/**
 * The function details page: a header with the version/alias selector, tabs, and the chosen tab. It stays
 * while only the tab or the qualifier changes, so that unsaved code on $LATEST survives a look elsewhere; the
 * function, its versions and aliases are read again when another tab opens.
 */
export class FunctionPage implements FunctionPageState {
  fn: FunctionView | undefined;
  versions: VersionView[] = [];
  aliases: AliasView[] = [];
  /** The code being edited on $LATEST, kept across tabs. */
  draft: CodeDraft | undefined;
  /** The test event and request options, kept across tabs and qualifiers. */
  testEvent = '{\n  "key": "value"\n}\n';
  testHeaders = '';
  testRoutingKey = '';
  private readonly header = h('div', { class: 'fn-header' });
  private readonly tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Function sections' });
  private readonly panel = h('section', { class: 'tab-panel', role: 'tabpanel', testid: 'tab-panel' });
  private tab: Tab = 'code';
  private qualifier = '$LATEST';
  private loaded = false;
  private disposed = false;

  constructor(
    readonly name: string,
    private readonly main: HTMLElement,
  ) {
    clear(main, this.header, this.tabs, this.panel);
  }

  hasUnsavedChanges(): boolean {
    return this.draft?.dirty() === true;
  }

  dispose(): void {
    this.disposed = true;
    this.draft?.destroy();
  }

  /** Reads the function, its versions and aliases again (after a write), and redraws the header. */
  async reload(signal?: AbortSignal): Promise<void> {
    const base = fnPath(this.name);
    const [fn, versions, aliases] = await Promise.all([
      getJson<FunctionView>(base, signal),
      listAll<VersionView>(`${base}/versions`, 'versions', signal),
      getJson<{ aliases: AliasView[] }>(`${base}/aliases`, signal).then((r) => r.aliases),
    ]);
    this.fn = fn;
    this.versions = versions;
    this.aliases = aliases;
    this.loaded = true;
    if (!this.disposed) this.drawHeader();
  }

  async show(tab: Tab, qualifier: string): Promise<void> {
    const switched = tab !== this.tab;
    this.tab = tab;
    this.qualifier = qualifier;
    const controller = new AbortController();
    onLeave(() => {
      controller.abort();
    });
    this.drawTabs();
    if (!this.loaded) {
      clear(this.header, spinner(`Loading ${this.name}…`));
      clear(this.panel);
      try {
        await this.reload(controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.code === 'FunctionNotFound') {
          clear(
            this.header,
            h('nav', { class: 'crumbs' }, h('a', { href: '#/functions' }, 'Functions'), ' / ', this.name),
            errorBox(error),
            h('p', null, h('a', { href: '#/functions' }, '← Back to the function list')),
          );
          clear(this.tabs);
          return;
        }
        clear(
          this.header,
          errorBox(error, () => void this.show(tab, qualifier)),
        );
        return;
      }
    } else if (switched) {
      // What the page read may be old by now (a rollout moves its alias on its own): each tab opens on what the
      // server holds, and on what was read before if it cannot be read again.
      clear(this.panel);
      await this.reload(controller.signal).catch(() => {
        if (!controller.signal.aborted) this.drawHeader();
      });
    } else {
      this.drawHeader();
    }
    if (controller.signal.aborted || !this.fn) return;
    if (!this.qualifierExists(qualifier)) {
      clear(
        this.panel,
        errorBox(
          new ApiError(
            404,
            qualifierKind(qualifier) === 'alias' ? 'AliasNotFound' : 'VersionNotFound',
            `${this.name} has no ${describeQualifier(this, qualifier)}`,
          ),
        ),
        h('p', null, h('a', { href: functionHref(this.name, tab) }, 'Show $LATEST instead')),
      );
      return;
    }
    const ctx: FunctionContext = {
      name: this.name,
      fn: this.fn,
      versions: this.versions,
      aliases: this.aliases,
      qualifier,
      signal: controller.signal,
      page: this,
    };
    clear(this.panel);
    const renderers: Record<Tab, (ctx: FunctionContext, panel: HTMLElement) => void> = {
      code: renderCodeTab,
      config: renderConfigTab,
      versions: renderVersionsTab,
      aliases: renderAliasesTab,
      rollouts: renderRolloutsTab,
      monitoring: renderMonitoringTab,
      stages: renderStagesTab,
      triggers: renderTriggersTab,
      async: renderAsyncTab,
    };
    renderers[tab](ctx, this.panel);
  }

  private qualifierExists(qualifier: string): boolean {
    const kind = qualifierKind(qualifier);
    if (kind === 'latest') return true;
    if (kind === 'version') return this.versions.some((v) => v.versionId === qualifier);
    return this.aliases.some((a) => a.name === qualifier);
  }

  /** Where the selector and the tabs lead: this tab, another qualifier. */
  href(tab: Tab = this.tab, qualifier: string = this.qualifier): string {
    return functionHref(this.name, tab, qualifier);
  }

  private drawTabs(): void {
    clear(
      this.tabs,
      TABS.map((t) =>
        h(
          'a',
          {
            href: this.href(t),
            role: 'tab',
            class: `tab${t === this.tab ? ' active' : ''}`,
            'aria-selected': t === this.tab ? 'true' : 'false',
            testid: `tab-${t}`,
          },
          TAB_LABELS[t],
        ),
      ),
    );
  }

  private drawHeader(): void {
    const fn = this.fn;
    if (!fn) return;
    const select = h(
      'select',
      { id: 'qualifier', class: 'input', testid: 'qualifier-select', 'aria-label': 'Version or alias' },
      h(
        'optgroup',
        { label: 'Latest' },
        h('option', { value: '$LATEST', selected: this.qualifier === '$LATEST' }, '$LATEST (editable)'),
      ),
      this.versions.length > 0 &&
        h(
          'optgroup',
          { label: 'Versions' },
          [...this.versions]
            .reverse()
            .map((v) =>
              h(
                'option',
                { value: v.versionId, selected: this.qualifier === v.versionId },
                `Version ${v.versionId}${v.description ? ` — ${v.description}` : ''}`,
              ),
            ),
        ),
      h(
        'optgroup',
        { label: 'Aliases' },
        this.aliases.map((a) =>
          h(
            'option',
            { value: a.name, selected: this.qualifier === a.name },
            `${a.name} → ${a.version}${aliasCanaryText(a)}`,
          ),
        ),
      ),
    );
    select.addEventListener('change', () => {
      go(this.href(this.tab, select.value).slice(1));
    });
    const kind = qualifierKind(this.qualifier);
    clear(
      this.header,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/functions' }, 'Functions'),
        ' / ',
        h('span', { 'aria-current': 'page' }, fn.name),
      ),
      h(
        'div',
        { class: 'fn-title-row' },
        h(
          'div',
          { class: 'fn-title' },
          h('h1', { testid: 'function-name' }, fn.name),
          badge(RUNTIME_LABELS[fn.runtime] ?? fn.runtime),
          badge(`${fn.memorySize} MB`, 'badge-muted'),
          badge(`${fn.timeout} s`, 'badge-muted'),
          kind !== 'latest' && badge(describeQualifier(this, this.qualifier), 'badge-accent'),
        ),
        h(
          'div',
          { class: 'fn-actions' },
          h('label', { for: 'qualifier', class: 'muted small' }, 'Version or alias'),
          select,
          h(
            'button',
            {
              class: 'btn btn-ghost btn-danger-text',
              type: 'button',
              testid: 'delete-function',
              onClick: () => void this.deleteFunction(),
            },
            'Delete',
          ),
        ),
      ),
      fn.description && h('p', { class: 'muted' }, fn.description),
    );
  }

  private async deleteFunction(): Promise<void> {
    const ok = await confirmDialog({
      title: `Delete ${this.name}?`,
      message: h(
        'p',
        null,
        'This deletes the function with all its versions, aliases and their history. Stages that bind it refuse the delete.',
      ),
      confirm: 'Delete function',
      danger: true,
    });
    if (!ok) return;
    try {
      await request('DELETE', fnPath(this.name));
      this.draft?.markClean();
      toast(`Deleted ${this.name}`);
      go('/functions');
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  }
}
