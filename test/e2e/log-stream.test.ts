import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serverSentEvents, type ServerSentEvent } from '../../src/contract/sse.js';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// The log stream gives each event its log's id, and a follower that reconnects with Last-Event-ID gets what
// came after it, each log once, from a real server on the embedded store.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let api: ApiCall;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  const code = await zipOf({
    'index.js':
      'exports.handler = (event, context, callback) => { console.log("run " + event); callback(null, "ok"); };',
  });
  const created = await api('POST', '/v1/functions', {
    name: 'f',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: code.toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
  await server.stop();
  await removeDir();
});

async function invoke(n: number): Promise<void> {
  const result = await api('POST', '/v1/functions/f/invocations', String(n), {
    'content-type': 'text/plain',
  });
  assert.equal(result.status, 200, result.bytes.toString());
}

/** Opens the stream and reads events until `count` logs came (30 s at most: instances start on a busy machine). */
async function follow(count: number, headers: Record<string, string> = {}): Promise<ServerSentEvent[]> {
  const abort = AbortSignal.timeout(30_000);
  const res = await fetch(`${server.url}/v1/functions/f/logs?follow=true`, {
    headers: { authorization: `Bearer ${server.token}`, ...headers },
    signal: abort,
  });
  assert.equal(res.status, 200);
  const events: ServerSentEvent[] = [];
  const text = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream());
  for await (const event of serverSentEvents(text)) {
    if (event.event === 'log') events.push(event);
    if (events.length === count) break;
  }
  return events;
}

test('each log event has its id, and Last-Event-ID resumes after it', async () => {
  for (const n of [1, 2, 3]) await invoke(n);
  const first = await follow(3);
  const runs = first.map((event) => (JSON.parse(event.data) as { text: string }).text.split('\n')[0]);
  assert.deepEqual(runs, ['run 1', 'run 2', 'run 3']);
  const ids = first.map((event) => Number(event.id));
  assert.deepEqual(
    ids,
    first.map((event) => (JSON.parse(event.data) as { id: number }).id),
  );
  const resumed = follow(3, { 'last-event-id': String(ids[0]) });
  const later = invoke(4);
  const [events] = await Promise.all([resumed, later]);
  assert.deepEqual(
    events.map((event) => (JSON.parse(event.data) as { text: string }).text.split('\n')[0]),
    ['run 2', 'run 3', 'run 4'],
    'after the id it names, and then what is new, each once',
  );
});

test('a Last-Event-ID that is not a log id is refused', async () => {
  const res = await api('GET', '/v1/functions/f/logs?follow=true', undefined, { 'last-event-id': 'x' });
  assert.equal(res.status, 400);
  assert.match(JSON.stringify(res.body), /Last-Event-ID/);
});
