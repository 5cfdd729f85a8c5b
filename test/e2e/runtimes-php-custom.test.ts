import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createFunctions, zipOf } from '../support/code.js';
import { CUSTOM_BOOTSTRAP, SEED_PHP_HANDLER } from '../../src/contract/seed-handlers.js';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import {
  checkCanary,
  checkFault,
  tailInvoker,
  type Fault,
  type TailInvoke,
  walkSeedRelease,
} from '../support/runtime-checks.js';
import { runSluice } from '../support/cli.js';
import { makeDataDir, spawnServer, startSluice, type SluiceProcess } from '../support/server-process.js';

// The PHP and custom runtimes through a real server and real sandboxed instances: the seeds' PHP sample
// deployed by the CLI, the context and the HTTP event, canaries, and the faults every runtime answers alike.

const PHP_FAULTS = `<?php
$instance = bin2hex(random_bytes(8));
function handler($event, $context) {
    global $instance;
    $req = json_decode($event, true) ?: [];
    if (isset($req['rawPath'])) {
        return ['statusCode' => 201, 'headers' => ['x-php' => 'yes'], 'body' => $req['rawPath']];
    }
    switch ($req['op'] ?? '') {
        case 'whoami': return ['instance' => $instance];
        case 'context': return $context;
        case 'event': return ['type' => gettype($event), 'event' => $event];
        case 'log':
            echo "echoed\\n";
            error_log('from error_log');
            fwrite(STDERR, "to stderr\\n");
            return 'logged';
        case 'throw': throw new InvalidArgumentException('boom');
        case 'fatal': undefined_function_here(); return '';
        case 'hang': sleep(3600); return '';
        case 'grow': $hog = []; for (;;) { $hog[] = str_repeat('x', 10 << 20); usleep(10000); }
        case 'crash': posix_kill(posix_getpid(), SIGKILL); return '';
        case 'exit': exit(3);
    }
    throw new RuntimeException('unknown op');
}
`;

/** A custom runtime in Python's http.server: POST /invoke dispatches on the payload's op, as PHP_FAULTS does. */
const PYTHON_SERVER = `#!/usr/bin/env python3
import json, os, signal, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
INSTANCE = str(uuid.uuid4())
hog = []

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def answer(self, status, body, kind='application/json'):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('content-type', kind)
        self.send_header('content-length', str(len(data)))
        self.send_header('set-cookie', 'a=1')
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.do_POST()
    def do_PUT(self):
        self.do_POST()
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('content-length') or 0))
        if self.path != '/invoke':
            print('http', self.command, self.path, flush=True)
            return self.answer(202, {'method': self.command, 'path': self.path, 'body': body.decode(),
                                     'header': self.headers.get('x-custom'), 'version': self.headers.get('x-fc-version-id')})
        op = json.loads(body or b'{}').get('op')
        print('op', op, flush=True)
        if op == 'whoami': return self.answer(200, {'instance': INSTANCE})
        if op == 'headers': return self.answer(200, {k.lower(): v for k, v in self.headers.items() if k.lower().startswith('x-fc-')})
        if op == 'throw': return self.answer(500, b'Traceback: ValueError: bad\\n', 'text/plain')
        if op == 'hang': time.sleep(3600)
        if op == 'grow':
            while True:
                hog.append(b'x' * (10 << 20)); time.sleep(0.01)
        if op == 'crash': os.kill(os.getpid(), signal.SIGKILL)
        if op == 'exit': os._exit(3)
        return self.answer(200, {'op': op, 'version': self.headers.get('x-fc-version-id')})
    def log_message(self, *args):
        pass

ThreadingHTTPServer(('127.0.0.1', int(os.environ['FC_SERVER_PORT'])), Handler).serve_forever()
`;

/** A custom runtime in Perl with nothing but its core modules: it answers every request with what it got. */
const PERL_SERVER = `#!/usr/bin/perl
use strict; use warnings; use IO::Socket::INET;
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ENV{FC_SERVER_PORT}, Listen => 16, ReuseAddr => 1) or die "listen: $!";
$| = 1;
while (my $c = $server->accept) {
    my $line = <$c>; my ($method, $path) = split ' ', $line;
    my %h; while (my $l = <$c>) { $l =~ s/\\r?\\n$//; last if $l eq ''; my ($k, $v) = split /:\\s*/, $l, 2; $h{lc $k} = $v; }
    my $body = ''; read($c, $body, $h{'content-length'} || 0);
    print STDERR "perl $method $path\\n";
    my $out = "perl $method $path $body q=$h{'x-fc-qualifier'} v=$h{'x-fc-version-id'}";
    print $c "HTTP/1.1 200 OK\\r\\ncontent-type: text/plain\\r\\ncontent-length: " . length($out) . "\\r\\nconnection: close\\r\\n\\r\\n$out";
    close $c;
}
`;

let server: SluiceProcess;
let api: ApiCall;
let invoke: TailInvoke;
let removeDir: () => Promise<void>;
let work: string;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir, ['--queue-per-function', '0']);
  api = apiClient(server.url, server.token);
  invoke = tailInvoker(api);
  work = await mkdtemp(join(tmpdir(), 'sluice-runtimes-'));
  const php = await zipOf({ 'index.php': PHP_FAULTS });
  const python = await zipOf({ bootstrap: PYTHON_SERVER }, ['bootstrap']);
  const functions: [string, Buffer, Record<string, unknown>][] = [
    ['php1', php, { runtime: 'php8.2', timeout: 1 }],
    ['php5', php, { runtime: 'php8.2', timeout: 5 }],
    ['custom1', python, { runtime: 'custom', timeout: 1 }],
    ['custom5', python, { runtime: 'custom', timeout: 5, network: 'none' }],
    ['perl', await zipOf({ bootstrap: PERL_SERVER }, ['bootstrap']), { runtime: 'custom' }],
  ];
  await createFunctions(api, functions);
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

describe("the seeds' PHP sample, deployed unmodified with the CLI", () => {
  const cli = (args: string[]) =>
    runSluice(args, work, { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token });

  test('$LATEST, version 1 and alias1 report the qualifier and the version the seed says', async () => {
    await walkSeedRelease(cli, invoke, 'seedphp', 'php8.2', (log, seen, version, requestId) => {
      // The seed prints the two with nothing between them.
      if (requestId === undefined) assert.ok(log.includes(`${seen}${version}`), log);
      else assert.ok(log.startsWith(`${seen}${version}`), log);
    });
  });

  test('the sample sluice init writes is the seed text', async () => {
    assert.equal(await readFile(join(work, 'seedphp', 'index.php'), 'utf8'), SEED_PHP_HANDLER);
  });
});

describe("the custom runtime's sample, deployed with the CLI", () => {
  const cli = (args: string[]) =>
    runSluice(args, work, { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token });

  test("$LATEST, version 1 and alias1 report the qualifier and the version, as the seeds' samples do", async () => {
    await walkSeedRelease(cli, invoke, 'seedcustom', 'custom', (log, seen, version) => {
      assert.ok(log.includes(`Qualifier from context: ${seen}\nVersionId from context: ${version}`), log);
    });
  });

  test('sluice init writes the sample as an executable bootstrap', async () => {
    const bootstrap = join(work, 'seedcustom', 'bootstrap');
    assert.equal(await readFile(bootstrap, 'utf8'), CUSTOM_BOOTSTRAP);
    assert.equal((await stat(bootstrap)).mode & 0o111, 0o111, 'executable');
  });
});

describe('PHP', () => {
  test('the context has the fields of the other runtimes, in arrays; the event is the payload string', async () => {
    const res = await invoke('php5', { op: 'context' }, { qualifier: '$LATEST' });
    assert.equal(res.status, 200, res.bytes.toString());
    const context = res.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(context).sort(), [
      'accountId',
      'credentials',
      'function',
      'region',
      'requestId',
      'service',
    ]);
    assert.equal(context.requestId, res.headers.get('x-fc-request-id'));
    assert.deepEqual(context.function, {
      name: 'php5',
      handler: 'index.handler',
      memory: 128,
      memorySize: 128,
      timeout: 5,
    });
    assert.deepEqual(context.service, { name: 'php5', qualifier: 'LATEST', versionId: 'LATEST' });
    const event = await invoke('php5', { op: 'event' });
    assert.deepEqual(event.body, { type: 'string', event: '{"op":"event"}' });
    assert.equal(event.headers.get('content-type'), 'application/json');
  });

  test('echo, error_log and STDERR go to the invocation log', async () => {
    const res = await invoke('php5', { op: 'log' });
    assert.equal(res.bytes.toString(), 'logged');
    for (const line of ['echoed', 'from error_log', 'to stderr']) assert.ok(res.log.includes(line), res.log);
  });

  test('an HTTP trigger gives the same event as the other runtimes, and reads the answer alike', async () => {
    const res = await fetch(`${server.url}/fn/php5/$LATEST/a/b?x=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'http' }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-php'), 'yes');
    assert.equal(await res.text(), '/a/b');
  });

  test('an instance idle past default_socket_timeout stays warm: its channel is a socket, never timed out', async () => {
    // The function's own ini (PHP_INI_SCAN_DIR, read from the code directory) shortens the timeout from 60 s.
    const code = await zipOf({ 'index.php': PHP_FAULTS, 'ini/timeout.ini': 'default_socket_timeout=1\n' });
    await createFunctions(api, [
      ['phpidle', code, { runtime: 'php8.2', environmentVariables: { PHP_INI_SCAN_DIR: 'ini' } }],
    ]);
    const first = await invoke('phpidle', { op: 'whoami' });
    assert.equal(first.status, 200, first.bytes.toString());
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const second = await invoke('phpidle', { op: 'whoami' });
    assert.deepEqual(second.body, first.body, 'the same instance answered');
  });

  test('instanceConcurrency above 1 is refused, on creation and on update: an instance runs one at a time', async () => {
    const created = await api('POST', '/v1/functions', {
      name: 'phpconcurrent',
      runtime: 'php8.2',
      handler: 'index.handler',
      instanceConcurrency: 2,
    });
    assert.equal(created.status, 400);
    assert.equal(errorCode(created), 'InvalidArgument');
    assert.match(
      created.bytes.toString(),
      /instanceConcurrency: must be 1 for php8\.2, whose instances run one invocation at a time/,
    );
    const updated = await api('PATCH', '/v1/functions/php5', { instanceConcurrency: 10 });
    assert.equal(updated.status, 400);
    assert.equal(
      ((await api('GET', '/v1/functions/php5')).body as { instanceConcurrency: number }).instanceConcurrency,
      1,
    );
  });

  test('a handler file without the function named is a FunctionInitializationError', async () => {
    const code = await zipOf({ 'index.php': '<?php function other() {}\n' });
    const created = await api('POST', '/v1/functions', {
      name: 'phpbad',
      runtime: 'php8.2',
      handler: 'index.handler',
      code: { zipFile: code.toString('base64') },
    });
    assert.equal(created.status, 201);
    const res = await invoke('phpbad', '{}');
    assert.equal(errorCode(res), 'FunctionInitializationError');
    assert.match(res.bytes.toString(), /HandlerNotFound: index.php does not define a function named handler/);
  });
});

describe('custom runtimes', () => {
  test('an invocation is POST /invoke with the payload and the x-fc-* headers', async () => {
    const res = await invoke('custom5', { op: 'headers' }, { qualifier: '$LATEST' });
    assert.equal(res.status, 200, res.bytes.toString());
    const headers = res.body as Record<string, string>;
    assert.equal(headers['x-fc-request-id'], res.headers.get('x-fc-request-id'));
    assert.equal(headers['x-fc-function-name'], 'custom5');
    assert.equal(headers['x-fc-qualifier'], 'LATEST');
    assert.equal(headers['x-fc-version-id'], 'LATEST');
    assert.ok(res.log.includes('op headers'), `the server's output is the invocation's log: ${res.log}`);
  });

  test('an HTTP trigger passes the request through, and its answer back', async () => {
    const res = await fetch(`${server.url}/fn/custom5/$LATEST/items/7?page=2`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.token}`, 'x-custom': 'yes' },
      body: 'payload',
    });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('set-cookie'), 'a=1');
    assert.deepEqual(await res.json(), {
      method: 'PUT',
      path: '/items/7?page=2',
      body: 'payload',
      header: 'yes',
      version: 'LATEST',
    });
  });

  test('a Perl server with core modules only serves invocations and triggers', async () => {
    const res = await invoke('perl', 'hi', { qualifier: '$LATEST' });
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.bytes.toString(), 'perl POST /invoke hi q=LATEST v=LATEST');
    assert.ok(res.log.includes('perl POST /invoke'), res.log);
    const viaTrigger = await fetch(`${server.url}/fn/perl/$LATEST/x`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(await viaTrigger.text(), 'perl GET /x  q=LATEST v=LATEST');
  });

  test('a configured command starts the server instead of a bootstrap; a missing one fails its start', async () => {
    const code = await zipOf({ 'server.py': PYTHON_SERVER });
    await createFunctions(api, [
      ['pycommand', code, { runtime: 'custom', command: ['python3', 'server.py'] }],
      ['nocommand', code, { runtime: 'custom', command: ['./no-such-server'] }],
    ]);
    const shown = await api('GET', '/v1/functions/pycommand');
    assert.deepEqual((shown.body as { command: string[] }).command, ['python3', 'server.py']);
    const res = await invoke('pycommand', { op: 'headers' }, { qualifier: '$LATEST' });
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal((res.body as Record<string, string>)['x-fc-function-name'], 'pycommand');
    const missing = await invoke('nocommand', '{}');
    assert.equal(errorCode(missing), 'FunctionInitializationError', missing.bytes.toString());
    assert.match(missing.bytes.toString(), /the command \.\/no-such-server .* before it listened/);
    const refused = await api('POST', '/v1/functions', {
      name: 'phpcommand',
      runtime: 'php8.2',
      handler: 'index.handler',
      command: ['php', 'index.php'],
    });
    assert.equal(refused.status, 400);
    assert.match(refused.bytes.toString(), /command: only a custom runtime starts a command, not php8\.2/);
  });

  test('a package without an executable bootstrap is a FunctionInitializationError saying so', async () => {
    for (const [name, executable] of [
      ['nobootstrap', false],
      ['notexecutable', true],
    ] as const) {
      const files = executable ? { bootstrap: PERL_SERVER } : { 'index.js': '' };
      const created = await api('POST', '/v1/functions', {
        name,
        runtime: 'custom',
        handler: 'index.handler',
        code: { zipFile: (await zipOf(files)).toString('base64') },
      });
      assert.equal(created.status, 201);
      const res = await invoke(name, '{}');
      assert.equal(errorCode(res), 'FunctionInitializationError');
      assert.match(res.bytes.toString(), executable ? /not executable/ : /no file bootstrap/);
    }
  });
});

describe('canaries route PHP and custom functions as any other', () => {
  for (const fn of ['php5', 'custom5']) {
    test(`${fn}: a weight splits, and a rule sends Bob to the canary`, () => checkCanary(api, invoke, fn));
  }
});

const faults: Fault[] = [
  {
    fn: 'php5',
    op: 'throw',
    status: 502,
    code: 'UnhandledInvocationError',
    errorType: 'InvalidArgumentException',
    message: /^boom$/,
  },
  {
    fn: 'php5',
    op: 'fatal',
    status: 502,
    code: 'UnhandledInvocationError',
    errorType: 'Error',
    message: /undefined_function_here/,
  },
  { fn: 'php1', op: 'hang', status: 504, code: 'FunctionTimeout', within: [950, 2500] },
  { fn: 'php5', op: 'grow', status: 502, code: 'MemoryLimitExceeded', within: [0, 4500] },
  { fn: 'php5', op: 'crash', status: 502, code: 'InstanceCrashed', message: /SIGKILL/ },
  { fn: 'php5', op: 'exit', status: 502, code: 'InstanceCrashed', message: /status 3/ },
  {
    fn: 'custom5',
    op: 'throw',
    status: 502,
    code: 'UnhandledInvocationError',
    errorType: 'HttpError',
    message: /answered 500/,
  },
  { fn: 'custom1', op: 'hang', status: 504, code: 'FunctionTimeout', within: [950, 2500] },
  { fn: 'custom5', op: 'grow', status: 502, code: 'MemoryLimitExceeded', within: [0, 4500] },
  { fn: 'custom5', op: 'crash', status: 502, code: 'InstanceCrashed', message: /SIGKILL/ },
  { fn: 'custom5', op: 'exit', status: 502, code: 'InstanceCrashed', message: /status 3/ },
];

describe('faults answer the same errors as in Node.js and Python; the function recovers', () => {
  for (const f of faults) {
    test(`${f.fn} ${f.op}: ${f.code}`, () => checkFault(invoke, f));
  }
});

test('runtimes whose interpreters are missing are named at start, and their functions are refused', async () => {
  const dir = await makeDataDir();
  const spawned = await spawnServer([
    '--data-dir',
    dir.dataDir,
    '--php',
    '/nonexistent/php',
    '--python',
    '/nonexistent/python3',
  ]);
  try {
    assert.match(
      spawned.output(),
      /runtimes: nodejs20 .*custom .*; missing: python3 \(install Debian's python3 .*\), php8\.2 \(install Debian's php-cli/,
    );
    const token = (await readFile(join(dir.dataDir, 'admin-token'), 'utf8')).trim();
    const other = apiClient(spawned.url, token);
    const res = await other('POST', '/v1/functions', {
      name: 'p',
      runtime: 'php8.2',
      handler: 'index.handler',
    });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res), 'InvalidArgument');
    assert.match(
      res.bytes.toString(),
      /php8\.2 is not installed on this server.*apt-get install php-cli.*--php PATH/,
    );
    assert.equal((await other('GET', '/v1/functions/p')).status, 404, 'nothing was stored');
    const python = await other('POST', '/v1/functions', {
      name: 'py',
      runtime: 'python3',
      handler: 'index.handler',
    });
    assert.equal(python.status, 400);
    assert.match(
      python.bytes.toString(),
      /python3 is not installed on this server.*apt-get install python3.*--python PATH/,
    );
    const node = await other('POST', '/v1/functions', {
      name: 'n',
      runtime: 'nodejs20',
      handler: 'index.handler',
    });
    assert.equal(node.status, 201);
    const patched = await other('PATCH', '/v1/functions/n', { runtime: 'php8.2' });
    assert.equal(patched.status, 400);
    assert.equal(((await other('GET', '/v1/functions/n')).body as { runtime: string }).runtime, 'nodejs20');
  } finally {
    const exited = new Promise((resolve) => spawned.child.once('exit', resolve));
    spawned.child.kill('SIGTERM');
    await exited;
    await dir.remove();
  }
});
