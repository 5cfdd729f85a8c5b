import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { createFunctions, zipOf } from '../support/code.js';
import { canonicalZip } from '../../src/contract/canonical-zip.js';
import { SEED_CSHARP_HANDLER } from '../../src/contract/seed-handlers.js';
import { CSHARP_LIBRARIES, CSHARP_RUNTIME_DIR } from '../../src/runtime/csharp.js';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { runSluice } from '../support/cli.js';
import {
  checkCanary,
  checkFault,
  standbyReady,
  tailInvoker,
  type Fault,
  type TailInvoke,
  walkSeedRelease,
} from '../support/runtime-checks.js';
import { makeDataDir, spawnServer, startSluice, type SluiceProcess } from '../support/server-process.js';

// C# on Mono through a real server and real sandboxed instances: the seeds' C# sample deployed by the CLI and
// compiled by Sluice, packages of sources and of compiled assemblies, the context and the HTTP event, canaries,
// and the faults every runtime answers alike.

const CSHARP_FAULTS = `using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Aliyun.Serverless.Core;
using Microsoft.Extensions.Logging;

namespace Faults
{
    public class Handlers
    {
        static readonly string Instance = Guid.NewGuid().ToString();
        static readonly List<byte[]> Hog = new List<byte[]>();

        public object Handle(Stream input, IFcContext context)
        {
            string payload = new StreamReader(input).ReadToEnd();
            var rawPath = Regex.Match(payload, "\\"rawPath\\":\\"([^\\"]*)\\"");
            if (rawPath.Success)
                return new Dictionary<string, object> {
                    { "statusCode", 201 },
                    { "headers", new Dictionary<string, string> { { "x-csharp", "yes" } } },
                    { "body", rawPath.Groups[1].Value },
                };
            switch (Regex.Match(payload, "\\"op\\":\\"(\\\\w+)\\"").Groups[1].Value)
            {
                case "whoami": return new { instance = Instance };
                case "context":
                    return new {
                        requestId = context.RequestId,
                        function = new {
                            name = context.FunctionParam.FunctionName,
                            handler = context.FunctionParam.FunctionHandler,
                            memory = context.FunctionParam.MemoryLimitInMB,
                            timeout = context.FunctionParam.TimeoutInSeconds,
                        },
                        service = new {
                            name = context.ServiceMeta.ServiceName,
                            qualifier = context.ServiceMeta.Qualifier,
                            versionId = context.ServiceMeta.VersionId,
                        },
                    };
                case "event": return payload;
                case "bytes": return new MemoryStream(new byte[] { 0, 1, 2, 255 });
                case "log":
                    Console.WriteLine("to stdout");
                    Console.Error.WriteLine("to stderr");
                    context.Logger.LogWarning("warned {Name} {Count}", "here", 2);
                    return "logged";
                case "throw": throw new InvalidOperationException("boom");
                case "hang": Thread.Sleep(Timeout.Infinite); return "";
                case "grow":
                    for (;;) {
                        var chunk = new byte[10 << 20];
                        for (int i = 0; i < chunk.Length; i += 4096) chunk[i] = 1;
                        Hog.Add(chunk);
                        Thread.Sleep(10);
                    }
                case "crash": Process.GetCurrentProcess().Kill(); return "";
                case "exit": Environment.Exit(3); return "";
            }
            throw new ArgumentException("unknown op");
        }
    }
}
`;

const FAULTS_HANDLER = 'Faults::Faults.Handlers::Handle';

/** A library built by the test itself with mcs, shipped compiled: no source in its package. */
const PRECOMPILED = `using System.IO;
using Aliyun.Serverless.Core;
namespace Built { public static class Entry {
    public static string Run(Stream input, IFcContext context) { return "precompiled " + new StreamReader(input).ReadToEnd(); }
} }
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
  work = await mkdtemp(join(tmpdir(), 'sluice-csharp-'));
  const faults = await zipOf({ 'src/Handlers.cs': CSHARP_FAULTS });
  const csharp = { runtime: 'csharp', handler: FAULTS_HANDLER };
  await createFunctions(api, [
    ['cs1', faults, { ...csharp, timeout: 1 }],
    ['cs5', faults, { ...csharp, timeout: 5 }],
    ['cs5b', faults, { ...csharp, timeout: 5 }],
  ]);
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

describe("the seeds' C# sample, deployed unmodified with the CLI", () => {
  const cli = (args: string[]) =>
    runSluice(args, work, { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token });

  test('$LATEST, version 1 and alias1 report the qualifier and the version the seed says', async () => {
    await walkSeedRelease(cli, invoke, 'seedcs', 'csharp', (log, seen, version, requestId) => {
      // Function Compute's C# logger: time, request id, level, then the message with its {0} filled in.
      if (requestId === undefined) assert.ok(log.includes(`Qualifier from context: ${seen}`), log);
      else {
        assert.match(log, new RegExp(`^\\S+Z ${requestId} \\[INFO\\] Qualifier from context: ${seen}$`, 'm'));
        assert.match(log, new RegExp(`\\[INFO\\] versionId from context: ${version}$`, 'm'));
      }
    });
  });

  test('the sample sluice init writes is the seed text, and its handler names the seed assembly', async () => {
    assert.equal(await readFile(join(work, 'seedcs', 'Desktop.cs'), 'utf8'), SEED_CSHARP_HANDLER);
    assert.match(
      await readFile(join(work, 'seedcs', 'sluice.yaml'), 'utf8'),
      /Desktop::Desktop\.App::Handler/,
    );
  });
});

describe('C#', () => {
  test('the context carries the function, the qualifier and the version; the event is the payload', async () => {
    const res = await invoke('cs5', { op: 'context' }, { qualifier: '$LATEST' });
    assert.equal(res.status, 200, res.bytes.toString());
    assert.deepEqual(res.body, {
      requestId: res.headers.get('x-fc-request-id'),
      function: { name: 'cs5', handler: FAULTS_HANDLER, memory: 128, timeout: 5 },
      service: { name: 'cs5', qualifier: 'LATEST', versionId: 'LATEST' },
    });
    const event = await invoke('cs5', { op: 'event' });
    assert.equal(event.bytes.toString(), '{"op":"event"}');
    assert.equal(event.headers.get('content-type'), 'text/plain; charset=utf-8');
    const bytes = await invoke('cs5', { op: 'bytes' });
    assert.deepEqual([...bytes.bytes], [0, 1, 2, 255]);
    assert.equal(bytes.headers.get('content-type'), 'application/octet-stream');
  });

  test('Console.Out, Console.Error and the logger go to the invocation log', async () => {
    const res = await invoke('cs5', { op: 'log' });
    assert.equal(res.bytes.toString(), 'logged');
    for (const line of ['to stdout', 'to stderr', '[WARN] warned here 2'])
      assert.ok(res.log.includes(line), res.log);
  });

  test('an HTTP trigger gives the same event as the other runtimes, and reads the answer alike', async () => {
    const res = await fetch(`${server.url}/fn/cs5/$LATEST/a/b?x=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'http' }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-csharp'), 'yes');
    assert.equal(await res.text(), '/a/b');
  });

  test('sources are compiled once per code: a second function with the same code runs the same assembly', async () => {
    assert.equal((await invoke('cs5', { op: 'whoami' })).status, 200);
    const codeSha256 = ((await api('GET', '/v1/functions/cs5')).body as { codeSha256: string }).codeSha256;
    const assembly = join(await codeCacheDir(server.dataDir), codeSha256, '.sluice-build', 'Faults.dll');
    const built = await stat(assembly);
    const res = await invoke('cs5b', { op: 'whoami' });
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal((await stat(assembly)).mtimeMs, built.mtimeMs, 'not compiled again');
  });

  test("a package's compiled assembly runs as it is", async () => {
    const dll = join(work, 'Built.dll');
    const references = CSHARP_LIBRARIES.map((library) => `-r:${join(CSHARP_RUNTIME_DIR, library)}`);
    await writeFile(join(work, 'Built.cs'), PRECOMPILED);
    await promisify(execFile)('mcs', [
      '-target:library',
      `-out:${dll}`,
      ...references,
      join(work, 'Built.cs'),
    ]);
    const zip = await canonicalZip([{ path: 'Built.dll', data: await readFile(dll), executable: false }]);
    await createFunctions(api, [
      ['cscompiled', zip, { runtime: 'csharp', handler: 'Built::Built.Entry::Run' }],
    ]);
    const res = await invoke('cscompiled', 'in');
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.bytes.toString(), 'precompiled in');
  });

  test("sources that do not compile are a FunctionInitializationError with the compiler's lines", async () => {
    const code = await zipOf({
      'Broken.cs': 'namespace B { public class C {\n  public string H() { return 1 } } }\n',
    });
    await createFunctions(api, [['csbroken', code, { runtime: 'csharp', handler: 'B::B.C::H' }]]);
    for (let i = 0; i < 2; i++) {
      const res = await invoke('csbroken', '{}');
      assert.equal(errorCode(res), 'FunctionInitializationError', res.bytes.toString());
      assert.match(res.bytes.toString(), /CompilationError: the C# sources do not compile into B\.dll/);
      assert.match(res.bytes.toString(), /Broken\.cs\(2,\d+\): error CS\d+/);
    }
  });

  test('a handler the package lacks, or of another signature, is a FunctionInitializationError', async () => {
    const sources = await zipOf({ 'src/Handlers.cs': CSHARP_FAULTS });
    const cases: [Buffer, string, RegExp][] = [
      [
        await zipOf({ 'README.md': 'no code' }),
        'Other::Faults.Handlers::Handle',
        /HandlerNotFound: the package has no assembly Other\.dll and no \.cs sources/,
      ],
      [
        sources,
        'Faults::Faults.Nope::Handle',
        /HandlerNotFound: the assembly Faults has no type Faults\.Nope/,
      ],
      [
        sources,
        'Faults::Faults.Handlers::Nope',
        /HandlerNotFound: Faults\.Handlers has no method Nope\(Stream input, IFcContext context\)/,
      ],
    ];
    for (const [i, [zip, handler, message]] of cases.entries()) {
      await createFunctions(api, [[`cswrong${i}`, zip, { runtime: 'csharp', handler }]]);
      const res = await invoke(`cswrong${i}`, '{}');
      assert.equal(errorCode(res), 'FunctionInitializationError', res.bytes.toString());
      assert.match(res.bytes.toString(), message);
    }
  });

  test('instanceConcurrency above 1 is refused: an instance runs one invocation at a time', async () => {
    const res = await api('POST', '/v1/functions', {
      name: 'csconcurrent',
      runtime: 'csharp',
      handler: FAULTS_HANDLER,
      instanceConcurrency: 4,
    });
    assert.equal(res.status, 400);
    assert.match(res.bytes.toString(), /instanceConcurrency: must be 1 for csharp/);
  });
});

describe('canaries route C# functions as any other', () => {
  test('cs5: a weight splits, and a rule sends Bob to the canary', () => checkCanary(api, invoke, 'cs5'));
});

const faults: Fault[] = [
  {
    fn: 'cs5',
    op: 'throw',
    status: 502,
    code: 'UnhandledInvocationError',
    errorType: 'System.InvalidOperationException',
    message: /^boom$/,
  },
  { fn: 'cs1', op: 'hang', status: 504, code: 'FunctionTimeout', within: [950, 2500] },
  { fn: 'cs5', op: 'grow', status: 502, code: 'MemoryLimitExceeded', within: [0, 4500] },
  { fn: 'cs5', op: 'crash', status: 502, code: 'InstanceCrashed', message: /SIGKILL/ },
  { fn: 'cs5', op: 'exit', status: 502, code: 'InstanceCrashed', message: /status 3/ },
];

describe('faults answer the same errors as in the other runtimes; the function recovers', () => {
  for (const f of faults) test(`${f.fn} ${f.op}: ${f.code}`, () => checkFault(invoke, f));

  test("an exception's stack trace names the handler's frame", async () => {
    const res = await invoke('cs5', { op: 'throw' });
    const { details } = (res.body as { error: { details: { stackTrace: string[] } } }).error;
    assert.ok(
      details.stackTrace.some((line) =>
        /Faults\.Handlers\.Handle .* in \.\/src\/Handlers\.cs:\d+$/.test(line),
      ),
      details.stackTrace.join('\n'),
    );
  });
});

test('a standby of C# warms itself up before it waits, and a cold start takes it with nothing of that in its log', async () => {
  await invoke('cs5b', { op: 'whoami' });
  await standbyReady(server, 'csharp');
  // A new $LATEST starts a new instance: from the standby.
  await api('PATCH', '/v1/functions/cs5b', { environmentVariables: { COLD: 'yes' } });
  const res = await invoke('cs5b', { op: 'whoami' });
  assert.equal(res.status, 200, res.bytes.toString());
  assert.match(res.log, /Init Duration/);
  assert.doesNotMatch(res.log, /warm/i);
});

test('a machine without Mono names csharp at start, and refuses its functions saying what to install', async () => {
  const dir = await makeDataDir();
  const spawned = await spawnServer(['--data-dir', dir.dataDir, '--mono', '/nonexistent/mono']);
  try {
    assert.match(spawned.output(), /missing: .*csharp \(install Debian's mono-runtime and mono-mcs/);
    const token = (await readFile(join(dir.dataDir, 'admin-token'), 'utf8')).trim();
    const res = await apiClient(spawned.url, token)('POST', '/v1/functions', {
      name: 'c',
      runtime: 'csharp',
      handler: FAULTS_HANDLER,
    });
    assert.equal(res.status, 400);
    assert.match(
      res.bytes.toString(),
      /csharp is not installed on this server.*apt-get install mono-runtime mono-mcs.*--mono PATH/,
    );
  } finally {
    const exited = new Promise((resolve) => spawned.child.once('exit', resolve));
    spawned.child.kill('SIGTERM');
    await exited;
    await dir.remove();
  }
});

/** Where the server extracts code: beside its data, or where its data directory records. */
async function codeCacheDir(dataDir: string): Promise<string> {
  const recorded = await readFile(join(dataDir, 'code-cache-dir'), 'utf8').catch(() => undefined);
  return recorded?.trim() ?? join(dataDir, 'code');
}
