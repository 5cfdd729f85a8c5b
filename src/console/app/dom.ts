/** Small DOM helpers: element builders, and the console's shared pieces (spinner, errors, dialogs, toasts). */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
export type Attrs = Record<string, unknown>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  if (typeof child === 'string' || typeof child === 'number') {
    parent.appendChild(document.createTextNode(String(child)));
  } else if (child instanceof Node) {
    parent.appendChild(child);
  }
}

/** An attribute's text: strings as they are, anything else as JSON. */
function attrText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function applyAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === 'class') {
      el.setAttribute('class', attrText(value));
    } else if (key === 'testid') {
      el.setAttribute('data-testid', attrText(value));
    } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'indeterminate') {
      (el as unknown as Record<string, unknown>)[key] = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, attrText(value));
    }
  }
}

/** `h('button', {class: 'btn', onClick: …}, 'Deploy')`: an element with attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A table of the console's kind: a row of column headings, then the rows. */
export function dataTable(headings: readonly string[], rows: Child, attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    { class: 'table', ...attrs },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headings.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', null, rows),
  );
}

/** A page's heading: its title and a line on what the page is for, with its actions beside. */
export function pageHeader(title: string, about: string, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'page-header' },
    h('div', null, h('h1', null, title), h('p', { class: 'muted' }, about)),
    ...actions,
  );
}

/** A card's heading: its title and, if there is one, a line on what it holds, with its actions beside. */
export function cardHead(title: string, about: string | undefined, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'card-head' },
    h('div', null, h('h2', null, title), about && h('p', { class: 'muted small' }, about)),
    ...actions,
  );
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function spinner(text = 'Loading…'): HTMLElement {
  return h(
    'div',
    { class: 'loading', role: 'status', testid: 'loading' },
    h('span', { class: 'spin' }),
    text,
  );
}

/** What went wrong, readable: the API's code and message, what to do, and a retry where it helps. */
export function errorBox(error: unknown, retry?: () => void, testid = 'error'): HTMLElement {
  const info = describeError(error);
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert', testid },
    h('div', { class: 'alert-title' }, info.title),
    h('div', { class: 'alert-body' }, info.message),
    info.hint && h('div', { class: 'alert-hint' }, info.hint),
    retry && h('button', { class: 'btn btn-small', type: 'button', onClick: retry }, 'Retry'),
  );
}

export interface ErrorInfo {
  title: string;
  message: string;
  hint?: string;
  code?: string;
}

interface ApiErrorLike {
  status: number;
  code: string;
  message: string;
  requestId?: string;
}

function isApiErrorLike(error: unknown): error is ApiErrorLike {
  return typeof error === 'object' && error !== null && 'code' in error && 'status' in error;
}

export function describeError(error: unknown): ErrorInfo {
  if (isApiErrorLike(error)) {
    const requestId = error.requestId ? `Request id ${error.requestId}.` : undefined;
    if (error.code === 'Unreachable') {
      return {
        title: 'Cannot reach the Sluice server',
        message: error.message,
        hint: 'Check that `sluice server` is running, then retry.',
        code: error.code,
      };
    }
    if (error.status === 401) {
      return { title: 'Not signed in', message: error.message, hint: 'Sign in again with a valid token.' };
    }
    return {
      title: `${error.code} (${error.status})`,
      message: error.message,
      ...(requestId && { hint: requestId }),
      code: error.code,
    };
  }
  return { title: 'Something went wrong', message: error instanceof Error ? error.message : String(error) };
}

export function emptyState(title: string, text: string, action?: Node): HTMLElement {
  return h(
    'div',
    { class: 'empty', testid: 'empty' },
    h('div', { class: 'empty-title' }, title),
    h('p', null, text),
    action,
  );
}

let toastHost: HTMLElement | undefined;

/** A short message in the corner, read out by screen readers, gone after a few seconds. */
export function toast(message: string, kind: 'ok' | 'error' | 'info' = 'ok'): void {
  if (!toastHost?.isConnected) {
    toastHost = h('div', { class: 'toasts', 'aria-live': 'polite', testid: 'toasts' });
    document.body.append(toastHost);
  }
  const item = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    message,
  );
  toastHost.append(item);
  setTimeout(() => {
    item.classList.add('toast-out');
    setTimeout(() => {
      item.remove();
    }, 300);
  }, 4000);
}

const FOCUSABLE = 'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"]), .cm-content';

/** Keeps Tab inside a dialog and closes it on Escape. */
function trapFocus(container: HTMLElement, close: () => void): (e: KeyboardEvent) => void {
  return (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
      return;
    }
    if (e.key !== 'Tab') return;
    const items = [...container.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
      (el) => !el.hasAttribute('disabled') && el.offsetParent !== null,
    );
    const first = items[0];
    const last = items.at(-1);
    if (!first || !last) return;
    if (!container.contains(document.activeElement)) {
      e.preventDefault();
      (e.shiftKey ? last : first).focus();
    } else if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
}

export interface Overlay {
  element: HTMLElement;
  body: HTMLElement;
  footer: HTMLElement;
  close: () => void;
}

/** A modal dialog or a side panel ("drawer"), with a title, a body and a footer for its buttons. */
export function overlay(options: {
  title: string;
  kind?: 'modal' | 'drawer';
  testid?: string;
  wide?: boolean;
  onClose?: () => void;
}): Overlay {
  const previous = document.activeElement as HTMLElement | null;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const body = h('div', { class: 'dialog-body' });
  const footer = h('div', { class: 'dialog-footer' });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    document.removeEventListener('keydown', onKey);
    backdrop.remove();
    options.onClose?.();
    previous?.focus();
  };
  const panel = h(
    'div',
    {
      class: `dialog ${options.kind === 'drawer' ? 'drawer' : 'modal'}${options.wide ? ' wide' : ''}`,
      role: 'dialog',
      'aria-modal': 'true',
      'aria-labelledby': titleId,
      testid: options.testid,
    },
    h(
      'div',
      { class: 'dialog-header' },
      h('h2', { id: titleId }, options.title),
      h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close', onClick: close }, '×'),
    ),
    body,
    footer,
  );
  const backdrop = h('div', { class: `backdrop backdrop-${options.kind ?? 'modal'}` }, panel);
  backdrop.addEventListener('mousedown', (e) => {
    if (e.target === backdrop) close();
  });
  // On the document, not the panel: Escape still closes it when what had the focus was redrawn away.
  const trap = trapFocus(panel, close);
  const onKey = (e: KeyboardEvent) => {
    const top = [...document.querySelectorAll('.backdrop')].at(-1);
    if (top === backdrop && !e.defaultPrevented) trap(e);
  };
  document.addEventListener('keydown', onKey);
  document.body.append(backdrop);
  requestAnimationFrame(() => {
    const target = panel.querySelector<HTMLElement>('[autofocus], .dialog-body ' + FOCUSABLE);
    (target ?? panel.querySelector<HTMLElement>('.icon-btn'))?.focus();
  });
  return { element: panel, body, footer, close };
}

/** A name's field: typed (and focused) when creating, read-only otherwise, as names never change. */
export function nameInput(
  id: string,
  value: string,
  creating: boolean,
  placeholder: string,
): HTMLInputElement {
  return h('input', {
    id,
    class: 'input',
    testid: id,
    value,
    readonly: !creating,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder,
    autofocus: creating,
  });
}

/** An editor's footer: Cancel, which closes it, then its save button. */
export function editorFooter(dlg: Overlay, testid: string, save: HTMLElement): void {
  dlg.footer.append(
    h('button', { class: 'btn', type: 'button', testid: `${testid}-cancel`, onClick: dlg.close }, 'Cancel'),
    save,
  );
}

/** The save button submits the form: its submit handler checks and sends it, as for Enter in a field. */
export function submitsForm(save: HTMLElement, form: HTMLFormElement): void {
  save.addEventListener('click', () => {
    form.requestSubmit();
  });
}

/** Asks before something that changes live traffic or deletes; resolves true when confirmed. */
export async function confirmDialog(options: {
  title: string;
  message: Child;
  confirm: string;
  danger?: boolean;
  testid?: string;
}): Promise<boolean> {
  const choice = await chooseDialog({
    title: options.title,
    message: options.message,
    testid: options.testid ?? 'confirm-dialog',
    choices: [
      { label: 'Cancel', value: 'cancel', testid: 'confirm-cancel' },
      {
        label: options.confirm,
        value: 'ok',
        testid: 'confirm-ok',
        kind: options.danger ? 'danger' : 'primary',
      },
    ],
  });
  return choice === 'ok';
}

/**
 * Asks which of several things to do; resolves the chosen one's value, or undefined when the dialog is closed.
 * The last choice is the one proposed, and has the focus.
 */
export function chooseDialog<T>(options: {
  title: string;
  message: Child;
  choices: { label: string; value: T; testid: string; kind?: 'primary' | 'danger' }[];
  testid: string;
}): Promise<T | undefined> {
  return new Promise((resolve) => {
    let answered = false;
    const dlg = overlay({
      title: options.title,
      testid: options.testid,
      onClose: () => {
        if (!answered) resolve(undefined);
      },
    });
    append(dlg.body, options.message);
    const buttons = options.choices.map((choice) =>
      h(
        'button',
        {
          class: `btn${choice.kind ? ` btn-${choice.kind}` : ''}`,
          type: 'button',
          testid: choice.testid,
          onClick: () => {
            answered = true;
            dlg.close();
            resolve(choice.value);
          },
        },
        choice.label,
      ),
    );
    dlg.footer.append(...buttons);
    requestAnimationFrame(() => {
      buttons.at(-1)?.focus();
    });
  });
}

export function field(
  label: string,
  control: HTMLElement,
  options: { hint?: string; error?: HTMLElement; id?: string; required?: boolean } = {},
): HTMLElement {
  const id = options.id ?? control.id;
  if (id && !control.id) control.id = id;
  return h(
    'div',
    { class: 'field' },
    h(
      'label',
      { for: control.id || undefined },
      label,
      options.required && h('span', { class: 'req' }, ' *'),
    ),
    control,
    options.hint && h('div', { class: 'hint' }, options.hint),
    options.error,
  );
}

/** An inline validation message under a field, empty until set. */
export function fieldError(testid: string): HTMLElement & { set(message: string | undefined): void } {
  const el = h('div', {
    class: 'field-error',
    testid,
    role: 'alert',
    hidden: true,
  }) as unknown as HTMLElement & {
    set(message: string | undefined): void;
  };
  el.set = (message) => {
    el.textContent = message ?? '';
    el.hidden = !message;
    const control = el.parentElement?.querySelector('input, select, textarea');
    if (control) control.setAttribute('aria-invalid', message ? 'true' : 'false');
  };
  return el;
}

/** The × at the end of an editable row; `label` says which row it removes, for screen readers. */
export function removeRowButton(
  label: string,
  testid: string | undefined,
  onRemove: () => void,
): HTMLElement {
  return h(
    'button',
    { class: 'icon-btn', type: 'button', 'aria-label': label, testid, onClick: onRemove },
    '×',
  );
}

export function badge(text: string, kind = ''): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

export function formatTime(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatAgo(iso: string): string {
  const ms = Date.now() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return iso;
  const sec = Math.round(ms / 1000);
  if (sec < 60) return `${Math.max(sec, 0)} s ago`;
  const min = Math.round(sec / 60);
  if (min < 60) return `${min} min ago`;
  const hours = Math.round(min / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A fraction of traffic as a percentage with up to two decimals: 0.3 → "30 %", 0.1234 → "12.34 %". */
export function formatPercent(fraction: number): string {
  const pct = Math.round(fraction * 10000) / 100;
  return `${pct} %`;
}

/** A stable colour per version or qualifier key. */
const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#4b5563'];
const assigned = new Map<string, string>();
export function colorFor(key: string): string {
  let color = assigned.get(key);
  if (!color) {
    color = PALETTE[assigned.size % PALETTE.length] ?? '#2563eb';
    assigned.set(key, color);
  }
  return color;
}

/**
 * An error shown in `area` stays until the user's next action in one of `scopes` (a click on a button or a
 * link, a form sent): then it goes, whatever the action's own outcome. A tab's scopes are its cards, drawn
 * anew with it, so that no listener outlives them.
 */
export function clearOnNextAction(area: HTMLElement, ...scopes: HTMLElement[]): void {
  const next = (e: Event) => {
    const target = e.target instanceof Element ? e.target : null;
    if (e.type === 'submit' || target?.closest('button, a, summary')) area.replaceChildren();
  };
  for (const scope of scopes) {
    scope.addEventListener('click', next, { capture: true });
    scope.addEventListener('submit', next, { capture: true });
  }
}
