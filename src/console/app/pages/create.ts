import { FUNCTION_NAME, FUNCTION_NAME_HINT } from '../../../contract/domain.js';
import { ApiError, sendJson, type FieldIssue, type FunctionView } from '../api.js';
import { configForm } from '../config-form.js';
import { clear, errorBox, field, fieldError, h, nameInput, pageHeader } from '../dom.js';
import { createEditor, editorState, type EditorView } from '../editor.js';
import { functionHref, go, onLeave } from '../router.js';
import { handlerFile, sampleOf, STARTERS } from '../samples.js';
import { textFile, toBase64, writeZip } from '../zip.js';

/** Create a function: name, configuration, and starter code (the seeds' sample by default). */
export function renderCreateFunction(main: HTMLElement, signal: AbortSignal): void {
  const name = nameInput('fn-name', '', true, 'my-function');
  const nameError = fieldError('error-name');
  const config = configForm({
    runtime: 'nodejs20',
    handler: 'index.handler',
    memorySize: 128,
    timeout: 3,
    instanceConcurrency: 1,
    environmentVariables: {},
    description: '',
    network: 'host',
    convention: 'fc',
  });
  let runtime = 'nodejs20';
  let starter = STARTERS[0]?.id ?? 'seed';
  let edited = false;

  const editorHost = h('div', { class: 'editor-host editor-small', testid: 'starter-editor' });
  const fileLabel = h('span', { class: 'mono', testid: 'starter-file' });
  let view: EditorView | undefined;
  const starterSource = () => STARTERS.find((s) => s.id === starter)?.source(runtime) ?? '';
  const handlerInput = config.element.querySelector<HTMLInputElement>('[data-testid="fn-handler"]');
  const currentFile = () => handlerFile(handlerInput?.value.trim() ?? 'index.handler', runtime);
  const resetCode = () => {
    const path = currentFile();
    fileLabel.textContent = path;
    const options = {
      doc: starterSource(),
      path,
      onChange: () => (edited = true),
      label: `Starter code, ${path}`,
    };
    if (view) view.setState(editorState(options));
    else view = createEditor(editorHost, options);
    edited = false;
  };

  const starterRadios = STARTERS.map((s) => {
    const radio = h('input', {
      type: 'radio',
      name: 'starter',
      value: s.id,
      checked: s.id === starter,
      testid: `starter-${s.id}`,
      onChange: () => {
        starter = s.id;
        resetCode();
      },
    });
    const card = h(
      'label',
      { class: 'radio-card' },
      radio,
      h('span', null, h('strong', null, s.label), h('span', { class: 'muted small' }, s.description)),
    );
    return { starter: s, radio, card };
  });
  // A starter the runtime has no code for is not offered; the runtime's sample takes its place.
  const offerStarters = () => {
    for (const { starter: s, radio, card } of starterRadios) {
      card.hidden = s.source(runtime) === undefined;
      if (card.hidden && radio.checked) {
        starter = 'seed';
        for (const other of starterRadios) other.radio.checked = other.starter.id === 'seed';
      }
    }
  };
  const starters = h(
    'div',
    { class: 'radio-cards', role: 'radiogroup', 'aria-label': 'Starter code' },
    starterRadios.map((r) => r.card),
  );

  config.onRuntimeChange((r) => {
    // The handler follows the runtime's sample until the user writes one of their own.
    if (handlerInput && handlerInput.value.trim() === sampleOf(runtime).handler)
      handlerInput.value = sampleOf(r).handler;
    runtime = r;
    offerStarters();
    if (!edited) resetCode();
    else fileLabel.textContent = currentFile();
  });
  handlerInput?.addEventListener('input', () => {
    fileLabel.textContent = currentFile();
  });

  const formError = h('div');
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'fn-create' }, 'Create');
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h(
      'section',
      { class: 'card card-pad' },
      h('h2', null, 'Basics'),
      h(
        'div',
        { class: 'form-grid' },
        field('Function name', name, {
          error: nameError,
          hint: 'Letters, digits, _ and -; starts with a letter or _',
          required: true,
        }),
      ),
      config.element,
    ),
    h(
      'section',
      { class: 'card card-pad' },
      h('h2', null, 'Code'),
      starters,
      h('div', { class: 'editor-title' }, 'File ', fileLabel),
      editorHost,
    ),
    formError,
    h('div', { class: 'form-actions' }, h('a', { class: 'btn', href: '#/functions' }, 'Cancel'), submit),
  );

  clear(
    main,
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/functions' }, 'Functions'),
      ' / ',
      'Create',
    ),
    pageHeader('Create function', 'A function starts at $LATEST; its $DEFAULT alias points there.'),
    form,
  );
  resetCode();
  onLeave(() => view?.destroy());

  const showIssues = (issues: readonly FieldIssue[], focus = true) => {
    const forName = issues.filter((i) => i.path === 'name');
    nameError.set(forName.length ? forName.map((i) => i.message).join('; ') : undefined);
    config.showIssues(issues);
    const first = form.querySelector('[aria-invalid="true"]');
    if (focus && first instanceof HTMLElement) first.focus();
  };
  const validate = () => {
    const issues: FieldIssue[] = [];
    const fnName = name.value.trim();
    if (fnName === '') issues.push({ path: 'name', message: 'Enter a name for the function' });
    else if (!FUNCTION_NAME.test(fnName))
      issues.push({ path: 'name', message: `The name ${FUNCTION_NAME_HINT}` });
    const read = config.read();
    issues.push(...read.issues);
    return { fnName, read, issues };
  };
  // Once a create was refused, each message goes as soon as its field is right.
  let attempted = false;
  const recheck = () => {
    if (attempted) showIssues(validate().issues, false);
  };
  form.addEventListener('input', recheck);
  form.addEventListener('change', recheck);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formError);
    attempted = true;
    const { fnName, read, issues } = validate();
    showIssues(issues);
    if (issues.length > 0 || !read.config) return;
    const path = currentFile();
    // A custom runtime's bootstrap is a program: it goes up executable.
    const mode = path === sampleOf(runtime).file ? sampleOf(runtime).mode : 0o644;
    const zip = writeZip([textFile(path, view?.state.doc.toString() ?? '', mode)]);
    submit.disabled = true;
    submit.textContent = 'Creating…';
    sendJson<FunctionView>('POST', '/v1/functions', {
      name: fnName,
      ...read.config,
      code: { zipFile: toBase64(zip) },
    })
      .then(({ body }) => {
        go(functionHref(body.name).slice(1));
      })
      .catch((error: unknown) => {
        if (signal.aborted) return;
        submit.disabled = false;
        submit.textContent = 'Create';
        if (error instanceof ApiError && error.issues.length) showIssues(error.issues);
        if (error instanceof ApiError && error.code === 'FunctionAlreadyExists')
          showIssues([{ path: 'name', message: error.message }]);
        clear(formError, errorBox(error, undefined, 'create-error'));
      });
  });
}
