import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { once } from 'node:events';
import { openEventStream } from './event-stream.js';

test('a reader that does not read gets a bounded queue, then the end of the stream, never a gap', async (t) => {
  let response: ServerResponse | undefined;
  let closed = false;
  const server = createServer((_req, res) => {
    response = res;
    const stream = openEventStream(res, { heartbeatMs: 60_000, maxQueued: 10 }, () => {
      closed = true;
    });
    // Far more than the socket buffers hold: without backpressure all of it would wait in memory.
    for (let id = 1; id <= 20_000; id++) stream.send('log', 'x'.repeat(1000), id);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const req = request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  assert.ok(response?.writableEnded, 'the stream ended');
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(ids.length > 0 && ids.length < 20_000, `${ids.length} events sent`);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
    'the events sent are the first ones, in order, with no gap: a follower resumes after the last',
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(closed);
});
