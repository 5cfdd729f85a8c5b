import { enc, getJson, type FunctionView } from '../api.js';
import {
  clear,
  dataTable,
  emptyState,
  errorBox,
  formatAgo,
  formatBytes,
  h,
  pageHeader,
  spinner,
} from '../dom.js';
import { functionHref } from '../router.js';

/** The function list: a search by name prefix (the API's `prefix`), a page at a time. */
export function renderFunctionList(main: HTMLElement, signal: AbortSignal, initialQuery: string): void {
  const search = h('input', {
    class: 'input search',
    type: 'search',
    placeholder: 'Search functions by name',
    'aria-label': 'Search functions by name',
    testid: 'function-search',
    value: initialQuery,
  });
  const body = h('div', { class: 'card' });
  const count = h('span', { class: 'muted' });
  clear(
    main,
    pageHeader(
      'Functions',
      'Code that runs on demand, released through versions and aliases.',
      h(
        'a',
        { class: 'btn btn-primary', href: '#/functions/new', testid: 'create-function' },
        '+ Create function',
      ),
    ),
    h('div', { class: 'toolbar' }, search, count),
    body,
  );

  let items: FunctionView[] = [];
  let nextToken: string | null = null;
  let generation = 0;

  const table = () => {
    if (items.length === 0) {
      return search.value
        ? emptyState('No matching functions', `No function name starts with “${search.value}”.`)
        : emptyState(
            'No functions yet',
            'Create a function from the sample handler, deploy it, and test it — then publish versions and route traffic with aliases.',
            h('a', { class: 'btn btn-primary', href: '#/functions/new' }, 'Create function'),
          );
    }
    return dataTable(
      ['Name', 'Runtime', 'Handler', 'Memory', 'Timeout', 'Code', 'Updated'],
      items.map((fn) =>
        h(
          'tr',
          { testid: `function-row-${fn.name}` },
          h(
            'td',
            null,
            h('a', { href: functionHref(fn.name), class: 'strong' }, fn.name),
            fn.description && h('div', { class: 'muted small' }, fn.description),
          ),
          h('td', null, fn.runtime),
          h('td', null, h('code', null, fn.handler)),
          h('td', null, `${fn.memorySize} MB`),
          h('td', null, `${fn.timeout} s`),
          h('td', null, formatBytes(fn.codeSize)),
          h('td', { title: fn.updatedAt }, formatAgo(fn.updatedAt)),
        ),
      ),
      { testid: 'function-table' },
    );
  };

  const draw = () => {
    count.textContent = `${items.length}${nextToken ? '+' : ''} function${items.length === 1 ? '' : 's'}`;
    clear(
      body,
      table(),
      nextToken &&
        h(
          'div',
          { class: 'more' },
          h('button', { class: 'btn', type: 'button', onClick: () => void load(true) }, 'Load more'),
        ),
    );
  };

  const load = async (more: boolean) => {
    const mine = ++generation;
    if (!more) clear(body, spinner('Loading functions…'));
    const prefix = search.value.trim();
    const query = `limit=50${prefix ? `&prefix=${enc(prefix)}` : ''}${more && nextToken ? `&nextToken=${enc(nextToken)}` : ''}`;
    try {
      const page = await getJson<{ functions: FunctionView[]; nextToken: string | null }>(
        `/v1/functions?${query}`,
        signal,
      );
      if (mine !== generation) return;
      items = more ? [...items, ...page.functions] : page.functions;
      nextToken = page.nextToken;
      draw();
    } catch (error) {
      if (signal.aborted || mine !== generation) return;
      count.textContent = '';
      clear(
        body,
        errorBox(error, () => void load(false)),
      );
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      history.replaceState(null, '', search.value ? `#/functions?q=${enc(search.value)}` : '#/functions');
      void load(false);
    }, 200);
  });
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
  });
  void load(false);
}
