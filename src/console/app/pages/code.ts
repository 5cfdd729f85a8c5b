import { enc, fnPath, invoke, invokeAsync, request, type FunctionView, type Invocation } from '../api.js';
import {
  badge,
  clear,
  clearOnNextAction,
  chooseDialog,
  confirmDialog,
  errorBox,
  field,
  fieldError,
  formatBytes,
  h,
  overlay,
  spinner,
  toast,
} from '../dom.js';
import { CodeDraft } from '../code-draft.js';
import { createEditor, EditorView } from '../editor.js';
import { onLeave } from '../router.js';
import { fromBase64Text, readZip, type CodeFile } from '../zip.js';
import { asyncHref } from './async.js';
import { describeQualifier, qualifierKind, type FunctionContext } from './function-context.js';

async function loadFiles(
  name: string,
  qualifier: string,
  signal: AbortSignal,
): Promise<{ files: CodeFile[]; sha: string }> {
  const q = qualifier === '$LATEST' ? '' : `?qualifier=${enc(qualifier)}`;
  const res = await request('GET', `${fnPath(name)}/code${q}`, { signal });
  const sha = res.headers.get('x-sluice-code-sha256') ?? '';
  return { files: readZip(await res.arrayBuffer()), sha };
}

/** `Name: value` lines of the test panel's request headers. */
function parseHeaders(text: string): { headers: Record<string, string>; error?: string } {
  const headers: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      return { headers, error: `Line ${i + 1}: write a header as Name: value` };
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  return { headers };
}

export function renderCodeTab(ctx: FunctionContext, panel: HTMLElement): void {
  const kind = qualifierKind(ctx.qualifier);
  const readOnly = kind !== 'latest';
  const page = ctx.page;
  clear(panel, spinner('Loading code…'));

  const ready = (draft: CodeDraft) => {
    if (ctx.signal.aborted) return;
    drawCode(ctx, panel, draft);
  };

  if (!readOnly && page.draft && (page.draft.dirty() || page.draft.sha === ctx.fn.codeSha256)) {
    ready(page.draft);
    return;
  }
  const load = () => {
    loadFiles(ctx.name, ctx.qualifier, ctx.signal)
      .then(({ files, sha }) => {
        let draft: CodeDraft;
        if (readOnly) {
          draft = new CodeDraft(files, sha, true);
          onLeave(() => {
            draft.destroy();
          });
        } else {
          page.draft?.destroy();
          draft = new CodeDraft(files, sha, false, () => deployRef.deploy?.());
          page.draft = draft;
        }
        draft.openHandler(ctx.fn.handler, ctx.fn.runtime);
        ready(draft);
      })
      .catch((error: unknown) => {
        if (ctx.signal.aborted) return;
        clear(panel, errorBox(error, load));
      });
  };
  load();
}

/** Deploy for Mod-s inside the editor, bound when the tab is drawn. */
const deployRef: { deploy?: (() => void) | undefined } = {};

function drawCode(ctx: FunctionContext, panel: HTMLElement, draft: CodeDraft): void {
  const readOnly = draft.readOnly;
  const page = ctx.page;
  const fileList = h('ul', { class: 'file-list', testid: 'file-list', 'aria-label': 'Files' });
  const editorHost = h('div', { class: 'editor-host', testid: 'code-editor' });
  const pathLabel = h('span', { class: 'mono', testid: 'editor-path' });
  const modified = h('span');
  const deployStatus = h('span', { class: 'muted small', testid: 'deploy-status', 'aria-live': 'polite' });
  // A refused deploy: shown above the editor until the next action, while deployStatus keeps the last success.
  const deployError = h('div');
  const deployButton = h(
    'button',
    {
      class: 'btn btn-primary',
      type: 'button',
      testid: 'deploy-button',
      title: 'Upload the files to $LATEST (Ctrl+S)',
    },
    'Deploy',
  );
  const testButton = h(
    'button',
    { class: 'btn btn-accent', type: 'button', testid: 'test-button' },
    'Test Function',
  );

  const drawFiles = () => {
    clear(
      fileList,
      draft.files.map((f) =>
        h(
          'li',
          null,
          h(
            'button',
            {
              type: 'button',
              class: `file${f.path === draft.active ? ' active' : ''}`,
              testid: `file-${f.path}`,
              'aria-current': f.path === draft.active ? 'true' : undefined,
              onClick: () => {
                draft.open(f.path);
                showFile();
              },
            },
            h('span', { class: 'file-name' }, f.path),
            draft.isModified(f.path) && !readOnly && h('span', { class: 'dot', title: 'Modified' }),
          ),
          !readOnly &&
            h(
              'button',
              {
                type: 'button',
                class: 'icon-btn file-remove',
                'aria-label': `Delete ${f.path}`,
                onClick: () => void removeFile(f.path),
              },
              '×',
            ),
        ),
      ),
    );
    if (draft.files.length === 0) fileList.append(h('li', { class: 'muted small pad' }, 'No files.'));
    clear(modified, draft.dirty() && badge('Unsaved changes', 'badge-warn'));
  };

  const showFile = () => {
    draft.view?.destroy();
    draft.view = undefined;
    pathLabel.textContent = draft.active || '—';
    const file = draft.files.find((f) => f.path === draft.active);
    if (!file) {
      clear(
        editorHost,
        h(
          'div',
          { class: 'editor-empty' },
          readOnly ? 'This package has no files.' : 'No files yet: add one with “+ File”.',
        ),
      );
    } else if (file.text === undefined) {
      clear(
        editorHost,
        h(
          'div',
          { class: 'editor-empty' },
          `${file.path} is a binary file (${formatBytes(file.bytes.length)}); it is kept as it is.`,
        ),
      );
    } else {
      clear(editorHost);
      const state = draft.stateFor(file.path);
      if (state) draft.view = new EditorView({ state, parent: editorHost });
    }
    drawFiles();
  };

  const removeFile = async (path: string) => {
    const ok = await confirmDialog({
      title: `Delete ${path}?`,
      message: h('p', null, 'The file goes from $LATEST when you next deploy.'),
      confirm: 'Delete file',
      danger: true,
    });
    if (!ok) return;
    draft.removeFile(path);
    showFile();
  };

  const newFile = () => {
    const input = h('input', {
      id: 'new-file',
      class: 'input mono',
      placeholder: 'lib/util.js',
      testid: 'new-file-name',
      autofocus: true,
    });
    const error = fieldError('error-new-file');
    const dlg = overlay({ title: 'New file', testid: 'new-file-dialog' });
    const form = h('form', { novalidate: true }, field('Path inside the package', input, { error }));
    dlg.body.append(form);
    const create = () => {
      const path = input.value.trim();
      if (
        !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(path) ||
        path.split('/').some((p) => p === '..' || p === '.')
      ) {
        error.set('Use a relative path of letters, digits, . _ - and /, without . or .. segments');
        return;
      }
      if (draft.files.some((f) => f.path === path)) {
        error.set(`${path} exists already`);
        return;
      }
      dlg.close();
      draft.addFile(path);
      showFile();
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      create();
    });
    dlg.footer.append(
      h('button', { class: 'btn', type: 'button', onClick: dlg.close }, 'Cancel'),
      h('button', { class: 'btn btn-primary', type: 'button', onClick: create }, 'Add file'),
    );
  };

  const deploy = async () => {
    if (readOnly || deployButton.disabled) return;
    draft.saveView();
    deployButton.disabled = true;
    deployButton.textContent = 'Deploying…';
    deployStatus.textContent = '';
    clear(deployError);
    try {
      const res = await request('PUT', `${fnPath(ctx.name)}/code`, {
        body: new Blob([draft.zip() as BlobPart], { type: 'application/zip' }),
        headers: { 'content-type': 'application/zip' },
      });
      const fn = (await res.json()) as FunctionView;
      draft.sha = fn.codeSha256;
      draft.markClean();
      page.fn = fn;
      ctx.fn = fn;
      deployStatus.textContent = `Deployed to $LATEST at ${new Date().toLocaleTimeString()} · sha256 ${fn.codeSha256.slice(0, 12)}`;
      toast('Deployed to $LATEST');
    } catch (error) {
      clear(deployError, errorBox(error, undefined, 'deploy-error'));
    } finally {
      deployButton.disabled = false;
      deployButton.textContent = 'Deploy';
      drawFiles();
    }
  };
  deployRef.deploy = () => void deploy();
  deployButton.addEventListener('click', () => void deploy());

  const notice = readOnly
    ? h(
        'div',
        { class: 'notice', testid: 'readonly-notice' },
        h('strong', null, 'Read-only: '),
        qualifierKind(ctx.qualifier) === 'alias'
          ? `${describeQualifier(ctx, ctx.qualifier)}. The code shown is the primary version’s; Test Function invokes ${ctx.qualifier}, and the alias chooses the version.`
          : `${describeQualifier(ctx, ctx.qualifier)} is an immutable snapshot. Edit $LATEST and publish a new version to change it.`,
        ' ',
        h('a', { href: page.href('code', '$LATEST') }, 'Edit $LATEST'),
      )
    : null;

  // Test Function runs what is deployed: with changes in the editor, the user says which code to test.
  const beforeTest = async (): Promise<boolean> => {
    if (readOnly || !draft.dirty()) return true;
    const choice = await chooseDialog({
      title: 'Deploy your changes first?',
      testid: 'test-unsaved-dialog',
      message: h(
        'p',
        null,
        'The editor has changes that are not deployed. Test Function invokes $LATEST, which still runs the code deployed before them.',
      ),
      choices: [
        { label: 'Cancel', value: 'cancel', testid: 'test-unsaved-cancel' },
        { label: 'Test the deployed code', value: 'deployed', testid: 'test-unsaved-old' },
        { label: 'Deploy and test', value: 'deploy', testid: 'test-unsaved-deploy', kind: 'primary' },
      ],
    });
    if (choice === 'deploy') await deploy();
    return choice === 'deployed' || (choice === 'deploy' && !draft.dirty());
  };
  const test = testPanel(ctx, testButton, beforeTest);
  const layout = h(
    'div',
    { class: 'code-layout card' },
    h(
      'aside',
      { class: 'files' },
      h(
        'div',
        { class: 'files-head' },
        h('span', null, 'Files'),
        !readOnly &&
          h(
            'button',
            { class: 'btn btn-small', type: 'button', testid: 'new-file', onClick: newFile },
            '+ File',
          ),
      ),
      fileList,
    ),
    h(
      'div',
      { class: 'editor-pane' },
      h(
        'div',
        { class: 'editor-toolbar' },
        pathLabel,
        modified,
        h('span', { class: 'spacer' }),
        deployStatus,
        !readOnly && deployButton,
        testButton,
      ),
      deployError,
      editorHost,
    ),
  );
  clearOnNextAction(deployError, layout, test);
  clear(panel, notice, layout, test);
  showFile();
  const unsubscribe = draft.subscribe(() => {
    clear(modified, draft.dirty() && badge('Unsaved changes', 'badge-warn'));
    for (const el of fileList.querySelectorAll<HTMLElement>('.file')) {
      const path = el.dataset.testid?.slice('file-'.length) ?? '';
      const dot = el.querySelector('.dot');
      const mod = !readOnly && draft.isModified(path);
      if (mod && !dot) el.append(h('span', { class: 'dot', title: 'Modified' }));
      if (!mod) dot?.remove();
    }
  });
  onLeave(() => {
    unsubscribe();
    draft.saveView();
    draft.view?.destroy();
    draft.view = undefined;
    deployRef.deploy = undefined;
  });
}

/** The event editor, request options and the result of Test Function. */
function testPanel(
  ctx: FunctionContext,
  testButton: HTMLButtonElement,
  beforeTest: () => Promise<boolean>,
): HTMLElement {
  const page = ctx.page;
  const eventHost = h('div', { class: 'editor-host editor-event', testid: 'event-editor' });
  const eventView = createEditor(eventHost, {
    doc: page.testEvent,
    path: 'event.json',
    label: 'Test event',
    onChange: (text) => {
      page.testEvent = text;
    },
  });
  onLeave(() => {
    eventView.destroy();
  });
  const headers = h('textarea', {
    id: 'test-headers',
    class: 'input mono',
    rows: 3,
    placeholder: 'x-test-uid: tester',
    testid: 'test-headers',
    spellcheck: 'false',
  });
  headers.value = page.testHeaders;
  headers.addEventListener('input', () => {
    page.testHeaders = headers.value;
  });
  const headersError = fieldError('test-headers-error');
  const routingKey = h('input', {
    id: 'test-routing-key',
    class: 'input mono',
    placeholder: '{"userId": "42"}',
    testid: 'test-routing-key',
    value: page.testRoutingKey,
    spellcheck: 'false',
  });
  routingKey.addEventListener('input', () => {
    page.testRoutingKey = routingKey.value;
  });
  const routingError = fieldError('test-routing-key-error');
  const asyncBox = h('input', { type: 'checkbox', testid: 'test-async' });
  const result = h(
    'div',
    { class: 'test-result', testid: 'test-result' },
    h(
      'div',
      { class: 'muted' },
      `Click Test Function to invoke ${ctx.qualifier === '$LATEST' ? '$LATEST' : ctx.qualifier} with this event.`,
    ),
  );
  const options = h(
    'details',
    { class: 'options', open: page.testHeaders !== '' || page.testRoutingKey !== '' },
    h('summary', null, 'Request options (headers, routing key)'),
    field('Headers, one “Name: value” per line (rule-based canaries read them)', headers, {
      error: headersError,
    }),
    field(
      'Routing key (JSON object of strings, for key rules, and header rules without that header)',
      routingKey,
      { error: routingError },
    ),
  );

  const run = async () => {
    const parsed = parseHeaders(headers.value);
    headersError.set(parsed.error);
    let keyError: string | undefined;
    if (routingKey.value.trim()) {
      try {
        const value = JSON.parse(routingKey.value) as unknown;
        if (
          typeof value !== 'object' ||
          value === null ||
          Array.isArray(value) ||
          Object.values(value).some((v) => typeof v !== 'string')
        ) {
          keyError = 'Write a JSON object of string values, such as {"userId": "42"}';
        } else parsed.headers['x-sluice-routing-key'] = JSON.stringify(value);
      } catch {
        keyError = 'This is not valid JSON';
      }
    }
    routingError.set(keyError);
    if (parsed.error || keyError) {
      options.open = true;
      return;
    }
    if (!(await beforeTest())) return;
    testButton.disabled = true;
    testButton.textContent = 'Running…';
    clear(result, spinner(`Invoking ${ctx.qualifier}…`));
    const payload = eventView.state.doc.toString();
    try {
      const view = asyncBox.checked
        ? queuedView(ctx, await invokeAsync(ctx.name, ctx.qualifier, payload, parsed.headers))
        : resultView(
            ctx.qualifier,
            await invoke(ctx.name, ctx.qualifier, payload, parsed.headers, fromBase64Text),
          );
      if (!ctx.signal.aborted) clear(result, view);
    } catch (error) {
      if (!ctx.signal.aborted)
        clear(
          result,
          errorBox(error, () => void run()),
        );
    } finally {
      testButton.disabled = false;
      testButton.textContent = 'Test Function';
    }
  };
  testButton.addEventListener('click', () => void run());

  return h(
    'div',
    { class: 'test-layout' },
    h(
      'section',
      { class: 'card card-pad', 'aria-label': 'Test event' },
      h('h3', null, 'Test event'),
      eventHost,
      h(
        'label',
        { class: 'toggle' },
        asyncBox,
        ' Invoke asynchronously: queued at once, run with retries; the version is chosen when it runs',
      ),
      options,
    ),
    h(
      'section',
      { class: 'card card-pad', 'aria-label': 'Execution result', 'aria-live': 'polite' },
      h('h3', null, 'Execution result'),
      result,
    ),
  );
}

/** An asynchronous invocation queued: its request id, and the link to its record. */
function queuedView(ctx: FunctionContext, queued: { requestId: string }): HTMLElement {
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'result-status ok', testid: 'test-status' },
      'Queued',
      h('span', { class: 'muted small' }, ' · HTTP 202 · the alias chooses the version when it runs'),
    ),
    h(
      'dl',
      { class: 'kv-grid' },
      h(
        'div',
        { class: 'kv' },
        h('dt', null, 'Qualifier'),
        h('dd', { class: 'mono', testid: 'test-qualifier' }, ctx.qualifier),
      ),
      h(
        'div',
        { class: 'kv' },
        h('dt', null, 'Request id'),
        h('dd', { class: 'mono', testid: 'test-request-id' }, queued.requestId),
      ),
    ),
    h(
      'p',
      null,
      h(
        'a',
        { href: asyncHref(ctx, { invocation: queued.requestId }), testid: 'test-async-link' },
        'Follow this invocation: its status, attempts, the version that ran, its result →',
      ),
    ),
  );
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function resultView(qualifier: string, r: Invocation): HTMLElement {
  const report = /Duration: ([\d.]+) ms(?:.*Init Duration: ([\d.]+) ms)?/.exec(r.log);
  const shownQualifier = qualifier === '$LATEST' ? 'LATEST' : qualifier;
  let errorMessage: string | undefined;
  let stack: string | undefined;
  if (!r.ok) {
    try {
      const parsed = JSON.parse(r.body) as {
        error?: { message?: string; details?: { errorType?: string; stackTrace?: string[] | string } };
      };
      errorMessage = parsed.error?.message;
      const trace = parsed.error?.details?.stackTrace;
      stack = Array.isArray(trace) ? trace.join('\n') : trace;
    } catch {
      errorMessage = r.body;
    }
  }
  const item = (label: string, value: string, testid: string) =>
    h('div', { class: 'kv' }, h('dt', null, label), h('dd', { testid, class: 'mono' }, value));
  return h(
    'div',
    null,
    h(
      'div',
      { class: `result-status ${r.ok ? 'ok' : 'failed'}`, testid: 'test-status' },
      r.ok ? 'Succeeded' : `Failed: ${r.errorType ?? `HTTP ${r.status}`}`,
      h('span', { class: 'muted small' }, ` · HTTP ${r.status} · ${Math.round(r.elapsedMs)} ms round trip`),
    ),
    h(
      'dl',
      { class: 'kv-grid' },
      item('Qualifier', shownQualifier, 'test-qualifier'),
      item('Version that ran (versionId)', r.versionId ?? '—', 'test-version'),
      item('Request id', r.requestId ?? '—', 'test-request-id'),
      item(
        'Duration',
        report ? `${report[1] ?? ''} ms${report[2] ? ` (cold start, init ${report[2]} ms)` : ''}` : '—',
        'test-duration',
      ),
    ),
    !r.ok &&
      errorMessage &&
      h(
        'div',
        { class: 'alert alert-error' },
        h('div', { class: 'alert-body' }, errorMessage),
        stack && h('pre', { class: 'pre small' }, stack),
      ),
    h('h4', null, 'Response'),
    h('pre', { class: 'pre', testid: 'test-response' }, r.body === '' ? '(empty)' : prettyBody(r.body)),
    h('h4', null, 'Log output'),
    h('pre', { class: 'pre log', testid: 'test-log' }, r.log || '(no log)'),
  );
}
