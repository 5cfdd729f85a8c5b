import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { after, before, describe, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { runSluice } from '../support/cli.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, spawnServer, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';
import { waitFor } from '../support/wait-for.js';

// Issue 17 end to end: what anonymous callers, handlers' answers and slow or greedy clients can do at the
// edges of a real `sluice server`, each attack refused while the server's other callers are served.

/** One anonymous HTTP-triggered function, whose answer each test chooses by path. */
const EDGE_HANDLER = `exports.handler = async (eventBuf) => {
  const event = JSON.parse(eventBuf.toString('utf8'));
  console.log('debug: db password is hunter2');
  switch (event.rawPath) {
    case '/forge':
      return {
        statusCode: 200,
        headers: {
          'x-fc-request-id': 'forged',
          'x-fc-invocation-function-version': '999',
          'X-Sluice-Request-Id': 'forged',
          'transfer-encoding': 'chunked',
          'content-length': '1',
          connection: 'close',
          'x-own': 'kept',
        },
        body: 'hello',
      };
    case '/crlf':
      return { statusCode: 200, headers: { 'x-a': 'a\\r\\nset-cookie: evil=1' }, body: 'x' };
    case '/bad-name':
      return { statusCode: 200, headers: { 'bad name': 'x' }, body: 'x' };
    case '/nul':
      return { statusCode: 200, headers: { 'x-a': 'a\\u0000b' }, body: 'x' };
    default:
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
  }
};
`;

const PG_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

interface Raw {
  status: number;
  statusMessage: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A request through node:http, which shows the headers as the server sent them (fetch hides some). */
function raw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const trigger = (path: string) => `${server.url}/fn/edge/$LATEST${path}`;

async function healthzWithin(ms: number): Promise<void> {
  const started = performance.now();
  const res = await fetch(`${server.url}/healthz`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  assert.ok(performance.now() - started < ms, `healthz answered within ${ms} ms`);
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  const created = await api('POST', '/v1/functions', {
    name: 'edge',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': EDGE_HANDLER })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const open = await api('PUT', '/v1/functions/edge/trigger', { authType: 'anonymous' });
  assert.equal(open.status, 200, JSON.stringify(open.body));
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe('credentials never reach a function', () => {
  const echoed = async (headers: Record<string, string>) => {
    const res = await raw(trigger('/echo'), headers);
    assert.equal(res.status, 200, res.body.toString());
    return (JSON.parse(res.body.toString()) as { headers: Record<string, string> }).headers;
  };

  test('the admin token sent to an anonymous trigger is stripped from the event', async () => {
    const headers = await echoed({ authorization: `Bearer ${server.token}`, 'x-probe': '1' });
    assert.equal(headers['x-probe'], '1');
    assert.equal(headers.authorization, undefined);
    assert.ok(!JSON.stringify(headers).includes(server.token));
  });

  test('so is any Sluice token, valid or not, in any case of the scheme', async () => {
    for (const value of ['Bearer sluice_revoked', 'bearer   sluice_x', ' BEARER sluice_y']) {
      assert.equal((await echoed({ authorization: value })).authorization, undefined, value);
    }
  });

  test("a function's own scheme passes, for functions that authenticate their callers themselves", async () => {
    for (const value of ['Basic dXNlcjpwYXNz', 'Bearer app-token-123']) {
      assert.equal((await echoed({ authorization: value })).authorization, value);
    }
  });
});

describe("the log's tail", () => {
  test('an anonymous caller asking for it is refused, and gets no log', async () => {
    const res = await raw(trigger('/echo'), { 'x-fc-log-type': 'Tail' });
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-fc-error-type'], 'Forbidden');
    assert.equal(res.headers['x-fc-log-result'], undefined);
    assert.ok(!res.body.toString().includes('hunter2'));
  });

  test('a token holder gets it on the same anonymous trigger', async () => {
    const res = await raw(trigger('/echo'), {
      'x-fc-log-type': 'Tail',
      authorization: `Bearer ${server.token}`,
    });
    assert.equal(res.status, 200);
    const tail = Buffer.from(String(res.headers['x-fc-log-result']), 'base64').toString();
    assert.match(tail, /hunter2/);
  });

  test('a wrong token is refused as on any token-protected call', async () => {
    const res = await raw(trigger('/echo'), {
      'x-fc-log-type': 'Tail',
      authorization: 'Bearer sluice_wrong',
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers['x-fc-log-result'], undefined);
  });
});

describe("a handler's answer", () => {
  test("cannot forge the platform's headers or the connection's framing", async () => {
    const res = await raw(trigger('/forge'));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
    assert.match(String(res.headers['x-fc-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['x-fc-invocation-function-version'], 'LATEST');
    assert.equal(res.headers['x-sluice-request-id'], undefined);
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.equal(res.headers['content-length'], '5');
    assert.notEqual(res.headers.connection, 'close');
    assert.equal(res.headers['x-own'], 'kept');
  });

  test('says in the invocation log which headers were dropped', async () => {
    const res = await raw(trigger('/forge'));
    const id = String(res.headers['x-fc-request-id']);
    // Logs are stored in batches, a fraction of a second after the invocation.
    const text = await waitFor(
      async () => {
        const logs = await api('GET', `/v1/functions/edge/logs?requestId=${id}`);
        assert.equal(logs.status, 200, JSON.stringify(logs.body));
        const text = JSON.stringify(logs.body);
        return text.includes('dropped') && text;
      },
      { timeout: 30_000, what: 'the invocation’s log', interval: 100 },
    );
    assert.match(text, /dropped the handler's x-fc-request-id, x-fc-invocation-function-version/);
  });

  for (const [path, why] of [
    ['/crlf', /cannot carry/],
    ['/nul', /cannot carry/],
    ['/bad-name', /not a valid header name/],
  ] as const) {
    test(`with an invalid header (${path}) is a 502 InvalidFunctionResponse, and nothing of it is sent`, async () => {
      const res = await raw(trigger(path));
      assert.equal(res.status, 502);
      assert.equal(res.statusMessage, 'Bad Gateway');
      assert.equal(res.headers['x-fc-error-type'], 'InvalidFunctionResponse');
      assert.equal(res.headers['set-cookie'], undefined);
      const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'InvalidFunctionResponse');
      assert.match(body.error.message, why);
      await healthzWithin(1000);
    });
  }
});

describe('oversized bodies', () => {
  /**
   * Streams up to `total` bytes of a chunked body as fast as the server takes them; answers what the server
   * said and how much it had taken when it answered and closed the connection.
   */
  function stream(url: string, total: number): Promise<{ status: number; sent: number; closed: boolean }> {
    return new Promise((resolve, reject) => {
      let sent = 0;
      let status = 0;
      const chunk = Buffer.alloc(64 * 1024);
      const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } });
      const pump = () => {
        while (sent < total && status === 0 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        if (sent >= total) req.end();
      };
      req.on('response', (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        req.socket?.once('close', () => {
          resolve({ status, sent, closed: true });
        });
      });
      req.on('error', (error) => {
        if (status !== 0) resolve({ status, sent, closed: true });
        else reject(error);
      });
      pump();
    });
  }

  test('an anonymous 300 MB chunked body gets its 413 without being read to the end', async () => {
    const before = await snapshot(api);
    const result = await stream(trigger('/echo'), 300 * 1024 * 1024);
    assert.equal(result.status, 413);
    assert.ok(result.closed, 'the server closed the connection');
    assert.ok(result.sent < 32 * 1024 * 1024, `the server took ${result.sent} bytes of 300 MB`);
    await healthzWithin(1000);
    assert.deepEqual(await snapshot(api), before);
  });

  test('a declared length over the limit is refused at once, and the connection closed, as the answer says', async () => {
    const result = await new Promise<{ status: number; connection: string | undefined; closed: boolean }>(
      (resolve, reject) => {
        const req = request(trigger('/echo'), {
          method: 'POST',
          headers: { 'content-length': String(300 * 1024 * 1024) },
        });
        req.on('response', (res) => {
          res.resume();
          const seen = { status: res.statusCode ?? 0, connection: res.headers.connection };
          const timer = setTimeout(() => {
            resolve({ ...seen, closed: false });
            req.destroy();
          }, 5000);
          req.socket?.once('close', () => {
            clearTimeout(timer);
            resolve({ ...seen, closed: true });
          });
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024));
      },
    );
    assert.equal(result.status, 413);
    // Else a client would send its next request on the connection, into the close.
    assert.equal(result.connection, 'close', 'the answer says that the connection closes');
    assert.ok(result.closed, 'the server closed the connection within 5 s');
  });
});

describe('bad input to the API', () => {
  test('a made-up nextToken is refused with 400, for functions and for versions', async () => {
    for (const path of [
      '/v1/functions?nextToken=garbage',
      '/v1/functions?nextToken=',
      `/v1/functions?nextToken=${Buffer.from('"x"').toString('base64url')}`,
      '/v1/functions/edge/versions?nextToken=garbage',
      `/v1/functions/edge/versions?nextToken=${Buffer.from(JSON.stringify({ after: 'x' })).toString('base64url')}`,
    ]) {
      const res = await api('GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'InvalidArgument');
      assert.match(JSON.stringify(res.body), /nextToken/);
    }
  });

  test('an empty body says so', async () => {
    const before = await snapshot(api);
    const res = await api('POST', '/v1/functions', undefined, { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    const message = (res.body as { error: { message: string } }).error.message;
    assert.match(message, /the body is empty/);
    assert.doesNotMatch(message, /undefined/);
    assert.deepEqual(await snapshot(api), before);
  });
});

describe('slow and greedy clients', () => {
  let tight: Awaited<ReturnType<typeof spawnServer>>;
  let removeTight: () => Promise<void>;

  before(async () => {
    const dir = await makeDataDir();
    removeTight = dir.remove;
    tight = await spawnServer(['--data-dir', dir.dataDir, '--header-timeout', '1', '--max-connections', '4']);
  });

  after(async () => {
    tight.child.kill('SIGTERM');
    await new Promise((resolve) => tight.child.once('exit', resolve));
    await removeTight();
  });

  const address = () => new URL(tight.url);
  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(Number(address().port), address().hostname, () => {
        resolve(socket);
      });
      socket.once('error', reject);
    });
  const closedWithin = (socket: Socket, ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        resolve(false);
      }, ms);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.resume();
    });

  test('headers that never end are cut off after --header-timeout', async () => {
    const socket = await open();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    assert.ok(await closedWithin(socket, 5000), 'closed within 5 s of a 1 s header timeout');
  });

  test('connections beyond --max-connections are closed at once; the server serves again after', async () => {
    const held = await Promise.all([open(), open(), open(), open()]);
    const extra = await open();
    assert.ok(await closedWithin(extra, 2000), 'the fifth connection is closed');
    for (const socket of held) socket.destroy();
    let ok = false;
    for (let attempt = 0; attempt < 50 && !ok; attempt++) {
      ok = await fetch(`${tight.url}/healthz`).then(
        async (res) => {
          await res.arrayBuffer();
          return res.ok;
        },
        () => false,
      );
    }
    assert.ok(ok, 'served once the held connections are gone');
  });
});

describe('secrets on command lines', () => {
  test('--token warns that other users can see it, and still works', async () => {
    const result = await runSluice(
      ['function', 'list', '--server', server.url, '--token', server.token],
      server.dataDir,
      process.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /visible to every local user/);
  });

  test('the admin token file is the way the README gives, and prints no warning', async () => {
    const file = `${server.dataDir}/admin-token`;
    assert.equal((await readFile(file, 'utf8')).trim(), server.token);
    const result = await runSluice(
      ['function', 'list', '--server', server.url, '--token-file', file],
      server.dataDir,
      process.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /warning/);
  });

  test('a store password on the command line is warned of and wiped from it; a store file works', async () => {
    const schema = `edges_${Date.now().toString(36)}`;
    const url = new URL(PG_URL);
    url.password = 's3cret-in-argv';
    url.searchParams.set('schema', schema);
    const dir = await makeDataDir();
    const urlFile = `${dir.dataDir}-store-url`;
    try {
      const started = await spawnServer(['--data-dir', dir.dataDir, '--store', url.href]);
      try {
        const cmdline = await readFile(`/proc/${started.child.pid}/cmdline`, 'utf8');
        assert.doesNotMatch(cmdline, /s3cret/);
        assert.match(started.output(), /the password in --store was visible/);
      } finally {
        started.child.kill('SIGTERM');
        await new Promise((resolve) => started.child.once('exit', resolve));
      }
      await writeFile(urlFile, `${url.href}\n`, { mode: 0o600 });
      const fromFile = await spawnServer(['--data-dir', dir.dataDir, '--store-file', urlFile]);
      try {
        assert.match(fromFile.output(), /state in PostgreSQL/i);
        assert.doesNotMatch(fromFile.output(), /warning: the password/);
      } finally {
        fromFile.child.kill('SIGTERM');
        await new Promise((resolve) => fromFile.child.once('exit', resolve));
      }
    } finally {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await client.end();
      await rm(urlFile, { force: true });
      await dir.remove();
    }
  });

  test(
    'a second server on a taken port says so and exits, and the first serves on',
    { timeout: 30_000 },
    async () => {
      const dir = await makeDataDir();
      try {
        const port = new URL(server.url).port;
        const run = await runSluice(
          ['server', '--port', port, '--data-dir', dir.dataDir],
          dir.dataDir,
          process.env,
        );
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
        await healthzWithin(1000);
      } finally {
        await dir.remove();
      }
    },
  );
});
