import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { followEvents, serverSentEvents, type ServerSentEvent } from './sse.js';

async function parse(chunks: string[], lastId?: string): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of serverSentEvents(Readable.from(chunks) as AsyncIterable<string>, lastId))
    events.push(event);
  return events;
}

test('events are parsed however the text is cut', async () => {
  const text =
    ': following\n\nid: 7\nevent: log\ndata: {"a":1}\n\nevent: log\ndata: one\ndata:two\r\n\r\nid: 9\ndata: plain\n\n: keep-alive\n\ndata: cut';
  const expected = [
    { event: 'log', data: '{"a":1}', id: '7' },
    { event: 'log', data: 'one\ntwo', id: '7' },
    { event: 'message', data: 'plain', id: '9' },
  ];
  assert.deepEqual(await parse([text]), expected);
  for (let size = 1; size < 12; size++) {
    const chunks = text.match(new RegExp(`[^]{1,${size}}`, 'g')) ?? [];
    assert.deepEqual(await parse(chunks), expected, `chunks of ${size}`);
  }
  assert.deepEqual(await parse(['data: x\n\n'], '3'), [{ event: 'message', data: 'x', id: '3' }]);
});

test('a follower that loses the stream resumes after the last event it got', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const after = Number(req.headers['last-event-id'] ?? 0);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // Two events a connection, then the connection ends, as a server that stops would end it.
    res.end(`id: ${after + 1}\ndata: ${after + 1}\n\nid: ${after + 2}\ndata: ${after + 2}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const abort = new AbortController();
  const got: string[] = [];
  let opens = 0;
  await followEvents({
    signal: abort.signal,
    async open(lastEventId) {
      const res = await fetch(url, {
        signal: abort.signal,
        ...(lastEventId !== undefined && { headers: { 'last-event-id': lastEventId } }),
      });
      return (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream());
    },
    onOpen: () => opens++,
    onEvent(event) {
      got.push(event.data);
      if (got.length === 6) abort.abort();
    },
  });
  assert.deepEqual(got, ['1', '2', '3', '4', '5', '6']);
  assert.equal(opens, 3);
  assert.deepEqual(
    seen.map((headers) => headers['last-event-id']),
    [undefined, '2', '4'],
  );
});

test('a stream that cannot be opened the first time fails at once', async () => {
  await assert.rejects(
    followEvents({
      signal: new AbortController().signal,
      open: () => Promise.reject(new Error('FunctionNotFound')),
      onEvent: () => undefined,
    }),
    /FunctionNotFound/,
  );
});
