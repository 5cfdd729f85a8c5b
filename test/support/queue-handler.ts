import type { Collector } from './collector.js';

/**
 * Reports each run to the collector (`/ran`: its request id, version, message number `n`, delivery, when),
 * after `SLEEP_MS`; fails the first delivery of every tenth message, and every delivery of one marked `fail`.
 * A message with `holdMs` says `/started` at once, and its first delivery runs that much longer.
 */
export const QUEUE_HANDLER = `
const http = require('http');
exports.handler = (event, context, callback) => {
  const start = Date.now();
  const e = JSON.parse(event.toString());
  const data = JSON.parse(e.data);
  const failed = data.fail === true || (data.n % 10 === 0 && e.deliveries === 1);
  const post = (path, body) => {
    const req = http.request({ host: '127.0.0.1', port: Number(process.env.COLLECTOR), method: 'POST', path,
      headers: { 'content-type': 'application/json' } }, (res) => res.resume());
    req.on('error', () => undefined);
    req.end(JSON.stringify(body));
  };
  if (data.holdMs) post('/started', { n: data.n, deliveries: e.deliveries, trigger: e.triggerName });
  const hold = data.holdMs && e.deliveries === 1 ? data.holdMs : 0;
  setTimeout(() => {
    const body = JSON.stringify({ id: context.requestId, version: context.service.versionId, n: data.n,
      deliveries: e.deliveries, trigger: e.triggerName, subject: e.subject, start, end: Date.now(), failed });
    const req = http.request({ host: '127.0.0.1', port: Number(process.env.COLLECTOR), method: 'POST',
      path: '/ran', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => failed ? callback(new Error('message ' + data.n + ' failed')) : callback(null, 'ok'));
    });
    req.on('error', (err) => callback(err));
    req.end(body);
  }, Number(process.env.SLEEP_MS || 0) + hold);
};
`;

export interface Run {
  id: string;
  version: string;
  n: number;
  deliveries: number;
  trigger: string;
  start: number;
  end: number;
  failed: boolean;
}

export const runs = (collector: Collector, trigger: string): Run[] =>
  collector
    .on('/ran')
    .map((p) => p.body as unknown as Run)
    .filter((r) => r.trigger === trigger);

/** The most runs that overlapped in time. */
export function maxOverlap(list: readonly Run[]): number {
  const edges = list.flatMap((r) => [
    { at: r.start, d: 1 },
    { at: r.end, d: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap.
  edges.sort((x, y) => x.at - y.at || x.d - y.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}
