import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../core/errors.js';

/** Where `npm run build` puts the console, next to the compiled server (`dist/src/server.js`). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export const CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's static files. Data calls go to `/v1` with the token the user signs in with, so the assets
 * themselves need none. CodeMirror styles its editors with inline `<style>` elements, hence `'unsafe-inline'`
 * for styles only.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);
}

/** Serves `/console` (redirected to `/console/`), `/console/` (the app) and its assets. */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  dir: string = DEFAULT_CONSOLE_DIR,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new SluiceError(
      'MethodNotAllowed',
      `${req.method ?? ''} is not allowed on ${url.pathname}; use GET`,
      {
        allowed: ['GET', 'HEAD'],
      },
    );
  }
  if (url.pathname === CONSOLE_PATH) {
    res.writeHead(308, { location: `${CONSOLE_PATH}/${url.search}` });
    res.end();
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname.slice(CONSOLE_PATH.length + 1)) || 'index.html';
  } catch {
    throw new SluiceError('RouteNotFound', `no console file at ${url.pathname}`);
  }
  const base = resolve(dir) + sep;
  const file = resolve(base, relative);
  const inside = file.startsWith(base);
  const info = inside ? await stat(file).catch(() => undefined) : undefined;
  if (!info?.isFile() || relative.includes('\0')) {
    if (relative === 'index.html') {
      throw new SluiceError(
        'RouteNotFound',
        `the console is not built: run npm run build to create ${join(dir, 'index.html')}`,
      );
    }
    throw new SluiceError('RouteNotFound', `no console file at ${url.pathname}`);
  }
  const gzipped = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
    ? await stat(`${file}.gz`).catch(() => undefined)
    : undefined;
  const sent = gzipped?.isFile() ? { path: `${file}.gz`, info: gzipped } : { path: file, info };
  const etag = `"${sent.info.size.toString(16)}-${Math.floor(sent.info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    // index.html names the bundle by content hash; everything is revalidated, cheaply, by its ETag.
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    etag,
    ...(sent.path !== file && { 'content-encoding': 'gzip' }),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': sent.info.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(sent.path)
    .on('error', () => res.destroy())
    .pipe(res);
}
