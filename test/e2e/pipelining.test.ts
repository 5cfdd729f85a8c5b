import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { createFunctions, zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Short calls at the function's instance limit are sent ahead to busy instances, and calls of one turn join
// the instance sent one in it (README, "How a function's instances are shared"): through a real server and
// every runtime that takes calls ahead, an instance of instanceConcurrency 1 still runs one call at a time,
// however many it has been sent at once, and each call gets its own answer.

/** Counts the calls running in this process; each yields to the event loop, where a second could start. */
const NODE = `let running = 0;
let most = 0;
exports.handler = async (event, context) => {
  running++;
  most = Math.max(most, running);
  await new Promise((resolve) => setImmediate(resolve));
  running--;
  return { most, pid: process.pid, requestId: context.requestId };
};
`;

const PYTHON = `import os, threading, time

lock = threading.Lock()
state = {'running': 0, 'most': 0}


def handler(event, context):
    with lock:
        state['running'] += 1
        state['most'] = max(state['most'], state['running'])
    time.sleep(0.0002)
    with lock:
        state['running'] -= 1
    return {'most': state['most'], 'pid': os.getpid(), 'requestId': context.request_id}
`;

/** One process, one call at a time by its nature: what is checked is that every call sent is answered, its own. */
const PHP = `<?php
function handler($event, $context) {
    return ['most' => 1, 'pid' => getmypid(), 'requestId' => $context['requestId']];
}
`;

const CSHARP = `using System.Collections.Generic;
using System.IO;
using System.Threading;
using Aliyun.Serverless.Core;

namespace Pipelining
{
    public class Handler
    {
        static int running;
        static int most;

        public object Handle(Stream input, IFcContext context)
        {
            int now = Interlocked.Increment(ref running);
            lock (typeof(Handler)) { if (now > most) most = now; }
            Thread.Sleep(0);
            Interlocked.Decrement(ref running);
            return new Dictionary<string, object> {
                { "most", most },
                { "pid", System.Diagnostics.Process.GetCurrentProcess().Id },
                { "requestId", context.RequestId },
            };
        }
    }
}
`;

const INSTANCES = 2;
const CALLERS = 20;
const CALLS_EACH = 40;

let server: SluiceProcess;
let api: ApiCall;
let remove: () => Promise<void>;

before(async () => {
  const dir = await makeDataDir();
  remove = dir.remove;
  server = await startSluice(dir.dataDir, ['--instances-per-function', String(INSTANCES)]);
  api = apiClient(server.url, server.token);
  // A minute of timeout: on a loaded machine 18 callers queued for 2 instances must not give up (429).
  await createFunctions(api, [
    ['node', await zipOf({ 'index.js': NODE }), { runtime: 'nodejs20', timeout: 60 }],
    ['python', await zipOf({ 'index.py': PYTHON }), { runtime: 'python3', timeout: 60 }],
    ['php', await zipOf({ 'index.php': PHP }), { runtime: 'php8.2', timeout: 60 }],
    [
      'csharp',
      await zipOf({ 'Handler.cs': CSHARP }),
      { runtime: 'csharp', handler: 'Pipelining::Pipelining.Handler::Handle', timeout: 60 },
    ],
  ]);
});

after(async () => {
  await server.stop();
  await remove();
});

for (const name of ['node', 'python', 'php', 'csharp']) {
  test(`${name}: ${CALLERS} callers on ${INSTANCES} instances of instanceConcurrency 1: never two calls at once in one`, async () => {
    const answers: { most: number; pid: number }[] = [];
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        for (let i = 0; i < CALLS_EACH; i++) {
          const res = await api('POST', `/v1/functions/${name}/invocations`, {});
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const answer = res.body as { most: number; pid: number; requestId: string };
          assert.equal(answer.requestId, res.headers.get('x-fc-request-id'), 'its own answer');
          answers.push(answer);
        }
      }),
    );
    assert.equal(answers.length, CALLERS * CALLS_EACH);
    assert.deepEqual([...new Set(answers.map((a) => a.most))], [1]);
    assert.ok(new Set(answers.map((a) => a.pid)).size <= INSTANCES);
  });
}
