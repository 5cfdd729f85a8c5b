/** Hash routes (`#/functions/NAME/TAB?qualifier=Q`) and what a page must stop when it is left. */

export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const at = text.indexOf('?');
  const path = at < 0 ? text : text.slice(0, at);
  const query = at < 0 ? '' : text.slice(at + 1);
  return {
    path: path
      .split('/')
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      }),
    query: new URLSearchParams(query),
  };
}

export function go(path: string): void {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = path;
}

export function functionHref(name: string, tab = 'code', qualifier?: string): string {
  const q = qualifier && qualifier !== '$LATEST' ? `?qualifier=${encodeURIComponent(qualifier)}` : '';
  return `#/functions/${encodeURIComponent(name)}/${tab}${q}`;
}

let cleanups: (() => void)[] = [];

export function runCleanups(): void {
  const current = cleanups;
  cleanups = [];
  for (const fn of current) {
    try {
      fn();
    } catch (error) {
      console.warn('cleanup failed', error);
    }
  }
}

/** Registers something to stop when the page (or the function tab) being shown is left. */
export function onLeave(fn: () => void): void {
  cleanups.push(fn);
}
