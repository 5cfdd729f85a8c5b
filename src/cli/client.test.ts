import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Client } from './client.js';
import { ApiError } from './errors.js';

/** A server that answers each request with the next of `answers` (a status, or `drop` to break the connection). */
async function scripted(answers: (number | 'drop')[]) {
  const seen: { method: string; url: string; key: string | undefined; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        key: req.headers['idempotency-key'] as string,
        body,
      });
      const answer = answers.shift() ?? 200;
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(answer < 400 ? { ok: true } : { error: { code: 'InternalError', message: 'down' } }),
      );
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const client = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 't', 'test');
  return {
    client,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

test('a write is sent again with the same Idempotency-Key after a broken connection or a 5xx', async () => {
  const s = await scripted(['drop', 503, 201]);
  try {
    assert.deepEqual(await s.client.call('PUT', '/v1/functions/f/aliases/live', { json: { version: '1' } }), {
      ok: true,
    });
    assert.equal(s.seen.length, 3);
    const keys = new Set(s.seen.map((r) => r.key));
    assert.equal(keys.size, 1, 'one key for every try');
    assert.match([...keys][0] ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(s.seen.every((r) => r.body === '{"version":"1"}'));
  } finally {
    await s.close();
  }
});

test('each write gets its own key; a refusal (4xx) is not sent again; reads and invocations carry no key', async () => {
  const s = await scripted([201, 409, 200, 200]);
  try {
    await s.client.call('POST', '/v1/functions/f/versions', { json: {} });
    await assert.rejects(s.client.call('POST', '/v1/functions/f/versions', { json: {} }), ApiError);
    await s.client.call('GET', '/v1/functions/f');
    await s.client.call('POST', '/v1/functions/f/invocations', { body: 'x' });
    assert.equal(s.seen.length, 4, 'the 409 was not retried');
    assert.notEqual(s.seen[0]?.key, s.seen[1]?.key);
    assert.deepEqual([s.seen[2]?.key, s.seen[3]?.key], [undefined, undefined]);
  } finally {
    await s.close();
  }
});

test('a write that keeps failing gives up after its retries with the last answer', async () => {
  const s = await scripted([500, 500, 500, 500]);
  try {
    await assert.rejects(
      s.client.call('DELETE', '/v1/functions/f'),
      (e) => e instanceof ApiError && /down/.test(e.message),
    );
    assert.equal(s.seen.length, 3);
  } finally {
    await s.close();
  }
});
