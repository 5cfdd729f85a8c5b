import './styles.css';
import { clearToken, getToken, serverInfo, UNAUTHORIZED_EVENT } from './api.js';
import { clear, h } from './dom.js';
import { renderApis } from './pages/apis.js';
import { renderCreateFunction } from './pages/create.js';
import { renderCredentials } from './pages/credentials.js';
import { FunctionPage } from './pages/function.js';
import { TABS, type Tab } from './pages/function-context.js';
import { renderFunctionList } from './pages/functions.js';
import { renderSignIn } from './pages/signin.js';
import { go, onLeave, parseRoute, runCleanups, type Route } from './router.js';
import { labelTableCells } from './tables.js';

/**
 * The console: a single page on hash routes, so that the server serves one file for every page.
 *   #/functions, #/functions/new, #/functions/NAME/TAB?qualifier=Q, #/apis, #/signin
 */

let functionPage: FunctionPage | undefined;
let signInMessage: string | undefined;
/** The hash of the page on screen, to return to when leaving it is cancelled. */
let shownHash = location.hash;

const root = document.getElementById('app') as HTMLElement;
labelTableCells(document.body);

function navItem(label: string, href: string, active: boolean, testid: string): HTMLElement {
  return h(
    'a',
    {
      href,
      class: `nav-item${active ? ' active' : ''}`,
      testid,
      'aria-current': active ? 'page' : undefined,
    },
    label,
  );
}

/** How this server keeps functions apart: plain when sandboxed, a warning when it is not. */
function isolationBadge(): HTMLElement {
  const badge = h('span', { class: 'isolation', testid: 'isolation' });
  serverInfo().then(
    ({ isolation }) => {
      const sandboxed = isolation.sandbox !== 'none';
      badge.textContent = sandboxed ? `Sandboxed (${isolation.limits})` : 'Not isolated';
      badge.classList.toggle('isolation-warn', !sandboxed || isolation.limits === 'polling');
      badge.title = [
        sandboxed
          ? `Each instance runs in a bubblewrap sandbox, ${isolation.users === 'per-function' ? 'as a user of its function' : "as the server's user"}`
          : 'Functions run as plain processes: they can see each other and this host',
        ...isolation.problems,
      ].join('\n');
    },
    () => undefined,
  );
  return badge;
}

function shell(route: Route): HTMLElement {
  const section = route.path[0] ?? 'functions';
  const main = h('main', { class: 'content', id: 'content', tabindex: '-1' });
  const layout = h(
    'div',
    { class: 'layout' },
    h(
      'header',
      { class: 'topbar' },
      h(
        'a',
        {
          class: 'skip',
          href: '#content',
          onClick: (e: Event) => {
            e.preventDefault();
            main.focus();
          },
        },
        'Skip to content',
      ),
      h(
        'a',
        { class: 'brand', href: '#/functions' },
        h('img', { src: 'favicon.svg', alt: '', width: 22, height: 22 }),
        'Sluice',
        h('span', { class: 'brand-sub' }, 'Console'),
      ),
      h(
        'div',
        { class: 'topbar-right' },
        h('span', { class: 'server', title: 'The server this console talks to' }, location.host),
        isolationBadge(),
        h(
          'a',
          { class: 'topbar-link', href: '/v1/openapi.json', target: '_blank', rel: 'noopener' },
          'API reference',
        ),
        h(
          'button',
          {
            class: 'btn btn-ghost',
            type: 'button',
            testid: 'signout',
            onClick: () => {
              clearToken();
              functionPage = undefined;
              go('/signin');
            },
          },
          'Sign out',
        ),
      ),
    ),
    h(
      'nav',
      { class: 'sidebar', 'aria-label': 'Main' },
      navItem('Functions', '#/functions', section === 'functions', 'nav-functions'),
      navItem('API Gateway', '#/apis', section === 'apis', 'nav-apis'),
      navItem('Credentials', '#/credentials', section === 'credentials', 'nav-credentials'),
      h('div', { class: 'sidebar-foot' }, 'Sluice · releasing function code safely'),
    ),
    main,
  );
  return layout;
}

function render(): void {
  const route = parseRoute(location.hash);
  if (!getToken() && route.path[0] !== 'signin') {
    const here = location.hash.replace(/^#/, '');
    go(`/signin${here && here !== '/' ? `?next=${encodeURIComponent(here)}` : ''}`);
    return;
  }
  const [section, name, tab] = route.path;
  // #/functions/new is the create page; a function named "new" is #/functions/new/code.
  const creating = section === 'functions' && name === 'new' && tab === undefined;
  // The function page keeps its shell (and its unsaved code) while only the tab or qualifier changes.
  if (
    section === 'functions' &&
    name &&
    !creating &&
    functionPage?.name === name &&
    root.querySelector('.layout')
  ) {
    runCleanups();
    const nextTab = (TABS as readonly string[]).includes(tab ?? '') ? (tab as Tab) : 'code';
    void functionPage.show(nextTab, route.query.get('qualifier') ?? '$LATEST');
    shownHash = location.hash;
    return;
  }
  if (
    getToken() &&
    functionPage?.hasUnsavedChanges() &&
    !window.confirm(
      `Leave ${functionPage.name}? The code changes on $LATEST that you have not deployed will be lost.`,
    )
  ) {
    history.replaceState(null, '', shownHash);
    return;
  }
  shownHash = location.hash;
  runCleanups();
  functionPage?.dispose();
  functionPage = undefined;
  if (section === 'signin') {
    clear(
      root,
      renderSignIn(signInMessage, () => {
        signInMessage = undefined;
        go(route.query.get('next') ?? '/functions');
      }),
    );
    return;
  }
  const layout = shell(route);
  clear(root, layout);
  const main = layout.querySelector('main') as HTMLElement;
  const controller = new AbortController();
  onLeave(() => {
    controller.abort();
  });
  if (section === 'apis') {
    renderApis(main, controller.signal);
  } else if (section === 'credentials') {
    renderCredentials(main, controller.signal);
  } else if (creating) {
    renderCreateFunction(main, controller.signal);
  } else if (section === 'functions' && name) {
    functionPage = new FunctionPage(name, main);
    const nextTab = (TABS as readonly string[]).includes(tab ?? '') ? (tab as Tab) : 'code';
    void functionPage.show(nextTab, route.query.get('qualifier') ?? '$LATEST');
  } else {
    renderFunctionList(main, controller.signal, route.query.get('q') ?? '');
  }
  const titles: Record<string, string> = { apis: 'API Gateway', credentials: 'Credentials' };
  document.title = `${titles[section ?? ''] ?? (name && !creating ? name : 'Functions')} · Sluice`;
}

window.addEventListener(UNAUTHORIZED_EVENT, (e) => {
  // Calls made together are refused together: the first takes the user to the sign-in screen.
  if (location.hash.startsWith('#/signin')) return;
  clearToken();
  signInMessage = `Your token was refused: ${String((e as CustomEvent).detail)}. Sign in again.`;
  const here = location.hash.replace(/^#/, '');
  functionPage = undefined;
  go(`/signin${here && !here.startsWith('/signin') ? `?next=${encodeURIComponent(here)}` : ''}`);
});

window.addEventListener('hashchange', render);
window.addEventListener('beforeunload', (e) => {
  if (functionPage?.hasUnsavedChanges()) e.preventDefault();
});
render();
