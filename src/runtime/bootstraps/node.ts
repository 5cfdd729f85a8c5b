/**
 * The Node.js runtime: one process per instance, started by the server with the protocol channel on fd 3
 * (docs/runtime-protocol.md). It loads the user's handler and runs invocations; it holds no platform secret.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { openChannel, type Frame, type InitHeader, type InvokeHeader } from './protocol.js';

type Handler = (
  /** The payload's bytes, or with the `scf` convention its value parsed from JSON. */
  event: unknown,
  context: unknown,
  callback?: (error?: unknown, result?: unknown) => void,
) => unknown;

const LOG_CAP = 1024 * 1024;
const TRUNCATED = '[sluice] log output truncated at 1 MiB\n';
const MAX_FRAME = 64 * 1024 * 1024;

/** An invocation as its output is told apart: its id, and how much it has written. */
interface Writer {
  id: number;
  logged: number;
}
/**
 * Whose output a write is. Running one invocation at a time, the instance takes the one that started last: a
 * stray timer's output, written after its invocation ended, goes with the one running then, or with none.
 * Running more, AsyncLocalStorage follows each one's calls; it makes every promise of the process dearer
 * (an instance woken for one invocation spent 40 µs more on it), so it serves only then.
 */
let writers: { run(writer: Writer, call: () => void): void; current(): Writer | undefined } = lastStarted();

function lastStarted(): typeof writers {
  let last: Writer | undefined;
  return {
    run: (writer, call) => {
      last = writer;
      call();
    },
    current: () => last,
  };
}

function followed(): typeof writers {
  const storage = new AsyncLocalStorage<Writer>();
  return {
    run: (writer, call) => {
      storage.run(writer, call);
    },
    current: () => storage.getStore(),
  };
}

/** The invocations running, by id, with when each started. */
const inFlight = new Map<number, number>();
/** Invocations sent beyond the instance's concurrency, which start in order as running ones end. */
const waiting: { header: InvokeHeader; event: Buffer }[] = [];

const send = openChannel(dispatch, MAX_FRAME);

/** Sends what the handler writes as log frames tagged with the invocation that wrote it. */
function captureOutput(stream: 'stdout' | 'stderr'): void {
  const target = process[stream];
  target.write = (chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk);
    const current = writers.current();
    if (!current) {
      send({ type: 'log', id: null, stream }, bytes);
    } else if (current.logged < LOG_CAP) {
      current.logged += bytes.length;
      send(
        { type: 'log', id: current.id, stream },
        current.logged < LOG_CAP ? bytes : Buffer.from(TRUNCATED),
      );
    }
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

function errorFields(error: unknown): { errorMessage: string; errorType: string; stackTrace: string[] } {
  if (error instanceof Error) {
    return {
      errorMessage: error.message,
      errorType: error.name,
      stackTrace: (error.stack ?? '')
        .split('\n')
        .slice(1)
        .map((line) => line.trim()),
    };
  }
  return {
    errorMessage: typeof error === 'string' ? error : inspect(error),
    errorType: 'Error',
    stackTrace: [],
  };
}

async function loadHandler(init: InitHeader): Promise<Handler> {
  const dot = init.function.handler.lastIndexOf('.');
  const file = init.function.handler.slice(0, dot);
  const exportName = init.function.handler.slice(dot + 1);
  const path = ['.js', '.cjs', '.mjs']
    .map((ext) => join(init.codeDir, file + ext))
    .find((p) => existsSync(p));
  if (!path) {
    throw Object.assign(
      new Error(
        `cannot find ${file}.js (or .cjs, .mjs) in the code package for handler ${init.function.handler}`,
      ),
      {
        name: 'HandlerNotFound',
      },
    );
  }
  let module: Record<string, unknown>;
  try {
    module = createRequire(path)(path) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw error;
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  }
  const handler = module[exportName] ?? (module.default as Record<string, unknown> | undefined)?.[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${file} does not export a function named ${exportName}`), {
      name: 'HandlerNotFound',
    });
  }
  return handler as Handler;
}

/** Made as the invocation starts: its time runs from then, as the server's timeout does. */
function contextFor(init: InitHeader, header: InvokeHeader): Record<string, unknown> {
  const fn = init.function;
  const deadline = Date.now() + fn.timeout * 1000;
  const fc = {
    requestId: header.requestId,
    credentials: {},
    function: {
      name: fn.name,
      handler: fn.handler,
      memory: fn.memorySize,
      memorySize: fn.memorySize,
      timeout: fn.timeout,
    },
    service: { name: fn.name, qualifier: header.qualifier, versionId: header.versionId },
    region: 'local',
    accountId: 'sluice',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  return init.convention === 'scf' ? { ...fc, ...scfContext(init, header) } : fc;
}

/** The fields of Tencent SCF's context, for handlers written for it. */
function scfContext(init: InitHeader, header: InvokeHeader): Record<string, unknown> {
  const fn = init.function;
  const env = { SCF_NAMESPACE: 'default', ...process.env };
  return {
    callbackWaitsForEmptyEventLoop: true,
    memory_limit_in_mb: fn.memorySize,
    time_limit_in_ms: fn.timeout * 1000,
    request_id: header.requestId,
    environment: JSON.stringify(env),
    environ: Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(';'),
    function_version: header.versionId === 'LATEST' ? '$LATEST' : header.versionId,
    function_name: fn.name,
    namespace: 'default',
    qualifier: header.qualifier,
    tencentcloud_region: 'local',
    tencentcloud_appid: 'sluice',
    tencentcloud_uin: 'sluice',
  };
}

/** SCF hands its handlers the event parsed from JSON; an event that is not JSON comes as its text. */
function scfEvent(payload: Buffer): unknown {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `ms`: how long the invocation ran here, which the server cannot tell apart from its own delays. */
function respond(id: number, ms: number, result: unknown): void {
  if (typeof result === 'string') send({ type: 'result', id, ms, kind: 'text' }, result);
  else if (result instanceof Uint8Array) send({ type: 'result', id, ms, kind: 'bytes' }, Buffer.from(result));
  else {
    const json = JSON.stringify(result ?? null) as string | undefined;
    if (json === undefined)
      send({
        type: 'error',
        id,
        ms,
        ...errorFields(new TypeError('the handler returned a value that is not JSON')),
      });
    else send({ type: 'result', id, ms, kind: 'json' }, json);
  }
}

/**
 * Starts an invocation now if fewer than `instanceConcurrency` run, else once one ends: the server may send
 * the next before the last ends (docs/runtime-protocol.md), so that no wake-up separates them.
 */
function accept(handler: Handler, init: InitHeader, header: InvokeHeader, event: Buffer): void {
  if (inFlight.size < init.instanceConcurrency) invoke(handler, init, header, event);
  else waiting.push({ header, event });
}

/** Runs one invocation: callback style (three parameters), promise style, or a plain return value. */
function invoke(handler: Handler, init: InitHeader, header: InvokeHeader, event: Buffer): void {
  const startedAt = performance.now();
  inFlight.set(header.id, startedAt);
  let settled = false;
  const finish = (error: unknown, result?: unknown) => {
    if (settled) return;
    settled = true;
    inFlight.delete(header.id);
    const ms = performance.now() - startedAt;
    try {
      if (error !== undefined && error !== null)
        send({ type: 'error', id: header.id, ms, ...errorFields(error) });
      else respond(header.id, ms, result);
    } catch (failure) {
      send({ type: 'error', id: header.id, ms, ...errorFields(failure) });
    }
    const next = waiting.shift();
    if (next) invoke(handler, init, next.header, next.event);
  };
  writers.run({ id: header.id, logged: 0 }, () => {
    try {
      const argument = init.convention === 'scf' ? scfEvent(event) : event;
      const returned = handler(argument, contextFor(init, header), finish);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') {
        (returned as Promise<unknown>).then(
          (value) => {
            finish(null, value);
          },
          (error: unknown) => {
            finish(error ?? new Error('the handler rejected without a reason'));
          },
        );
      } else if (handler.length < 3) {
        finish(null, returned);
      }
    } catch (error) {
      finish(error);
    }
  });
}

const writeStderr = process.stderr.write.bind(process.stderr);

/** An exception nothing caught ends the instance; the invocations in flight, and the server's log, are told why. */
process.on('uncaughtException', (error) => {
  writeStderr(`${error.stack ?? String(error)}\n`);
  // First, so that the server routes nothing more here once it has the answers below.
  send({ type: 'exiting' });
  for (const [id, startedAt] of inFlight)
    send({ type: 'error', id, ms: performance.now() - startedAt, ...errorFields(error) });
  send.end(() => process.exit(1));
});
process.on('unhandledRejection', (reason) => {
  throw reason instanceof Error ? reason : new Error(`unhandled rejection: ${String(reason)}`);
});

captureOutput('stdout');
captureOutput('stderr');

let init: InitHeader | undefined;
let handler: Handler | undefined;
/** The server sends `init` once, and `invoke` only after `ready`. */
function dispatch(frame: Frame): void {
  if (frame.header.type === 'invoke' && init && handler) {
    accept(handler, init, frame.header as unknown as InvokeHeader, frame.body);
  } else if (frame.header.type === 'init' && !init) {
    const header = frame.header as unknown as InitHeader;
    init = header;
    if (header.instanceConcurrency > 1) writers = followed();
    process.chdir(header.codeDir);
    loadHandler(header).then(
      (loaded) => {
        handler = loaded;
        send({ type: 'ready' });
      },
      (error: unknown) => {
        send({ type: 'initError', ...errorFields(error) });
        send.end(() => process.exit(1));
      },
    );
  }
}
