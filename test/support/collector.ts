import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a handler (or a destination) posted: the path it posted to and its JSON body. */
export interface Posted {
  path: string;
  body: Record<string, unknown>;
  /** Epoch ms when it arrived. */
  at: number;
}

export interface Collector {
  port: number;
  url: string;
  posts: Posted[];
  /** The posts to one path. */
  on(path: string): Posted[];
  close(): Promise<void>;
}

/**
 * A small HTTP server on 127.0.0.1 that keeps every JSON body posted to it: handlers report to it what ran
 * (their request id, their version, when), so that a test counts runs from the functions' side, not from
 * what the platform says of them. `status` decides each answer (a destination that fails, say).
 */
export async function startCollector(status: (path: string) => number = () => 200): Promise<Collector> {
  const posts: Posted[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { text };
      }
      const path = req.url ?? '/';
      posts.push({ path, body, at: Date.now() });
      res.writeHead(status(path)).end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    posts,
    on: (path) => posts.filter((p) => p.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * A Node.js handler that posts `{id, version, qualifier, start, end, payload}` to the collector at
 * `COLLECTOR` (its port, from the function's environment) at its end, waiting `SLEEP_MS` first, and throws
 * when the payload's `fail` is true or the version is listed in `FAIL_VERSIONS`.
 */
export const REPORTING_HANDLER = `
const http = require('http');
exports.handler = (event, context, callback) => {
  const start = Date.now();
  const text = event.toString();
  let payload = {};
  try { payload = JSON.parse(text); } catch { payload = { text }; }
  const version = context.service.versionId;
  const failing = payload.fail === true || (process.env.FAIL_VERSIONS || '').split(',').includes(version);
  setTimeout(() => {
    const body = JSON.stringify({ id: context.requestId, version, qualifier: context.service.qualifier,
      start, end: Date.now(), payload, failed: failing });
    const req = http.request({ host: '127.0.0.1', port: Number(process.env.COLLECTOR), method: 'POST',
      path: '/ran', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => failing ? callback(new Error('failing on purpose')) : callback(null, 'ok ' + version));
    });
    req.on('error', callback);
    req.end(body);
  }, Number(process.env.SLEEP_MS || 0));
};
`;
