/**
 * The custom runtime: the function is an HTTP server of its own, in any language, started from the package's
 * executable `bootstrap` with its port in FC_SERVER_PORT (Function Compute's custom runtime). This relay runs
 * beside it in the instance, in the same sandbox and network namespace, and speaks the runtime protocol
 * (docs/runtime-protocol.md) on fd 3 for it: each invocation becomes `POST /invoke`, each HTTP-triggered one
 * the HTTP request itself. Usage: `node custom.js PORT` (PORT 0: one the kernel gives); the function's
 * configured command, if any, comes with `init`, and so may everything else a standby learns only then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { createServer, connect, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { frameWriter, serveChannel, type Frame, type InitHeader, type InvokeHeader } from './protocol.js';

/** The HTTP trigger's event, as src/gateway/http-event.ts makes it: the parts a request is rebuilt from. */
interface HttpEvent {
  rawPath: string;
  headers: Record<string, string>;
  queryParameters: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  requestContext: { http: { method: string } };
}

const MAX_FRAME = 64 * 1024 * 1024;
/** How often the relay tries the port while the function's server starts. */
const PORT_POLL_MS = 2;
/** How long a failed request waits for the server's exit, which says better why it failed. */
const EXIT_GRACE_MS = 200;
/** A relay's own headers on a proxied answer, which the connection to the caller sets for itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);
// util-linux's setpriv: the server is asked to die with the relay, which nothing else would ensure unsandboxed.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

const channel = new Socket({ fd: 3, readable: true, writable: true });
const send = frameWriter(channel);
const agent = new Agent({ keepAlive: true });
let server: ChildProcess | undefined;
let port = 0;
let ready = false;
let exiting = false;

function errorFrame(id: number, errorType: string, errorMessage: string, stackTrace: string[] = []) {
  send({ type: 'error', id, errorType, errorMessage, stackTrace });
}

/** A port on the loopback that nothing holds now, for a server on the host's network. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => {
        resolve(free);
      });
    });
  });
}

function accepts(target: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** What the server writes is the instance's log: the server attributes it to the invocation in flight. */
function relayOutput(stream: 'stdout' | 'stderr', child: ChildProcess): void {
  child[stream]?.on('data', (chunk: Buffer) => {
    send({ type: 'log', id: null, stream }, chunk);
  });
}

/** The package's executable bootstrap, when the function configures no command. */
function packagedBootstrap(codeDir: string): string[] {
  const bootstrap = join(codeDir, 'bootstrap');
  try {
    accessSync(bootstrap, constants.X_OK);
  } catch {
    throw Object.assign(
      new Error(
        existsSync(bootstrap)
          ? 'the file bootstrap in the code package is not executable: chmod +x it before packing'
          : 'the code package has no file bootstrap: a custom runtime starts its executable bootstrap, or the command its configuration names',
      ),
      { name: 'HandlerNotFound' },
    );
  }
  return [bootstrap];
}

/** A standby started as root becomes the function's user, losing every capability, before anything else. */
function become(user: { uid: number; gid: number }): void {
  process.setgid?.(user.gid);
  process.setuid?.(user.uid);
  if (process.getuid?.() !== user.uid) throw new Error(`the relay could not become user ${user.uid}`);
}

async function start(init: InitHeader, wanted: number): Promise<void> {
  if (init.user) become(init.user);
  process.chdir(init.codeDir);
  const configured = init.command ?? [];
  // A configured command is found on PATH or in the code directory, its working directory.
  const program = configured.length > 0 ? configured : packagedBootstrap(init.codeDir);
  const name = configured.length > 0 ? `the command ${configured[0] ?? ''}` : 'bootstrap';
  port = wanted === 0 ? await freePort() : wanted;
  const env = { ...(init.env ?? process.env), FC_SERVER_PORT: String(port) };
  const [command, args] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', ...program]]
    : [program[0] ?? '', program.slice(1)];
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  relayOutput('stdout', child);
  relayOutput('stderr', child);
  let exited: string | undefined;
  child.once('error', (error) => {
    exited = `could not be started: ${error.message}`;
  });
  child.once('exit', (code, signal) => {
    exited = signal ? `was killed by ${signal}` : `exited with status ${code ?? 'unknown'}`;
    if (!ready) return;
    // The instance ends with its server, as it ended: the server reports the status or the signal.
    exiting = true;
    channel.end(() => {
      if (signal) process.kill(process.pid, signal);
      process.exit(code ?? 1);
    });
  });
  // The server's start timeout bounds this wait.
  while (!(await accepts(port))) {
    if (exited !== undefined)
      throw Object.assign(new Error(`${name} ${exited} before it listened on port ${port}`), {
        name: 'BootstrapExited',
      });
    await sleep(PORT_POLL_MS);
  }
}

function invokeRequest(init: InitHeader, header: InvokeHeader, payload: Buffer) {
  const fn = init.function;
  return {
    method: 'POST',
    path: '/invoke',
    headers: {
      'content-type': 'application/octet-stream',
      'x-fc-request-id': header.requestId,
      'x-fc-function-name': fn.name,
      'x-fc-function-handler': fn.handler,
      'x-fc-function-memory': String(fn.memorySize),
      'x-fc-function-timeout': String(fn.timeout),
      'x-fc-service-name': fn.name,
      'x-fc-qualifier': header.qualifier,
      'x-fc-version-id': header.versionId,
      'x-fc-region': 'local',
      'x-fc-account-id': 'sluice',
    } as Record<string, string>,
    body: payload,
  };
}

/** The HTTP request an HTTP trigger's event describes, with the invocation's ids beside its own headers. */
function httpRequest(init: InitHeader, header: InvokeHeader, payload: Buffer) {
  const event = JSON.parse(payload.toString('utf8')) as HttpEvent;
  const query = new URLSearchParams(event.queryParameters).toString();
  const ids = invokeRequest(init, header, payload).headers;
  delete ids['content-type'];
  return {
    method: event.requestContext.http.method,
    path: `${event.rawPath}${query ? `?${query}` : ''}`,
    headers: { ...event.headers, ...ids },
    body: Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
  };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** A request whose connection failed: the server's exit, if it is on its way, answers it instead. */
async function failed(id: number, error: Error): Promise<void> {
  await sleep(EXIT_GRACE_MS);
  if (!exiting)
    errorFrame(
      id,
      'ConnectionError',
      `the function's server on port ${port} failed the request: ${error.message}`,
    );
}

function invoke(init: InitHeader, header: InvokeHeader, payload: Buffer): void {
  const { method, path, headers, body } = header.http
    ? httpRequest(init, header, payload)
    : invokeRequest(init, header, payload);
  const req = request(
    { host: '127.0.0.1', port, method, path, agent, headers: { ...headers, 'content-length': body.length } },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', (error) => void failed(header.id, error));
      // A turn later: what the server wrote before it answered, readable by now, goes out first as its log.
      res.once('end', () =>
        setImmediate(() => {
          const answer = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (header.http) {
            const response = {
              statusCode: status,
              headers: flatten(res.headers),
              body: answer.toString('base64'),
              isBase64Encoded: true,
            };
            send({ type: 'result', id: header.id, kind: 'json' }, Buffer.from(JSON.stringify(response)));
          } else if (status >= 200 && status < 300) {
            send(
              { type: 'result', id: header.id, kind: kindOf(res.headers['content-type'], answer) },
              answer,
            );
          } else {
            // An event function fails by answering an error status; what it says is the error's detail.
            const text = answer.toString('utf8', 0, Math.min(answer.length, 4096)).trimEnd();
            errorFrame(
              header.id,
              'HttpError',
              `POST /invoke answered ${status} ${res.statusMessage ?? ''}`.trimEnd(),
              text === '' ? [] : text.split('\n'),
            );
          }
        }),
      );
    },
  );
  req.once('error', (error) => void failed(header.id, error));
  req.end(body);
}

/** JSON and text answers keep their type for the caller; anything else is bytes. */
function kindOf(contentType: string | undefined, body: Buffer): 'json' | 'text' | 'bytes' {
  if (/^application\/json\b/i.test(contentType ?? '')) {
    try {
      JSON.parse(body.toString('utf8'));
      return 'json';
    } catch {
      return 'bytes';
    }
  }
  return /^text\//i.test(contentType ?? '') ? 'text' : 'bytes';
}

let init: InitHeader | undefined;

function dispatch(frame: Frame): void {
  if (frame.header.type === 'invoke' && init && ready) {
    invoke(init, frame.header as unknown as InvokeHeader, frame.body);
  } else if (frame.header.type === 'init' && !init) {
    init = frame.header as unknown as InitHeader;
    start(init, Number(process.argv[2] ?? 0)).then(
      () => {
        ready = true;
        send({ type: 'ready' });
      },
      (error: unknown) => {
        const { name, message } = error as Error;
        send({ type: 'initError', errorType: name, errorMessage: message, stackTrace: [] });
        server?.kill('SIGKILL');
        channel.end(() => process.exit(1));
      },
    );
  }
}

serveChannel(channel, send, dispatch, MAX_FRAME);
