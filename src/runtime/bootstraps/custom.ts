/**
 * The custom runtime: the function is an HTTP server of its own, in any language, started from the package's
 * executable `bootstrap` with its port in FC_SERVER_PORT (Function Compute's custom runtime). This relay runs
 * beside it in the instance, in the same sandbox and network namespace, and speaks the runtime protocol
 * (docs/runtime-protocol.md) on fd 3 for its start and its end only. Invocations do not pass through it: on
 * its IPC channel Sluice asks for a connection, and the relay opens one to the server's port, from inside the
 * instance's network namespace, and hands it over (src/runtime/function-server.ts); Sluice then speaks HTTP to
 * the server itself. Usage: `node custom.js PORT` (PORT 0: one the kernel gives); the function's configured
 * command, if any, comes with `init`, and so may everything else a standby learns only then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createServer, connect, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openChannel, type Frame, type InitHeader } from './protocol.js';
import type { ConnectionReply } from './relay-messages.js';

const MAX_FRAME = 64 * 1024 * 1024;
/** How often the relay tries the port while the function's server starts. */
const PORT_POLL_MS = 2;
// util-linux's setpriv: the server is asked to die with the relay, which nothing else would ensure unsandboxed.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

const send = openChannel(dispatch, MAX_FRAME);
let server: ChildProcess | undefined;
let port = 0;
let ready = false;

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
  // The server writes to the instance's own stdout and stderr, which Sluice reads as the invocation's log:
  // read there, what it writes before it answers is read before its answer, in the same turn.
  const child = spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  server = child;
  let exited: string | undefined;
  child.once('error', (error) => {
    exited = `could not be started: ${error.message}`;
  });
  child.once('exit', (code, signal) => {
    exited = signal ? `was killed by ${signal}` : `exited with status ${code ?? 'unknown'}`;
    if (!ready) return;
    // The instance ends with its server, as it ended: the server reports the status or the signal.
    send.end(() => {
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

/** A connection to the server's port, opened here (inside the instance's network namespace) for Sluice. */
function handOverConnection(): void {
  const reply = (message: ConnectionReply, socket?: Socket) => {
    process.send?.(message, socket);
  };
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => {
    reply({ type: 'connection' }, socket);
  });
  socket.once('error', (error) => {
    reply({ type: 'connectionFailed', message: error.message });
  });
}

let init: InitHeader | undefined;

function dispatch(frame: Frame): void {
  if (frame.header.type !== 'init' || init) return;
  init = frame.header as unknown as InitHeader;
  start(init, Number(process.argv[2] ?? 0)).then(
    () => {
      ready = true;
      // Sluice names the port in its requests' Host header.
      send({ type: 'ready', port });
    },
    (error: unknown) => {
      const { name, message } = error as Error;
      send({ type: 'initError', errorType: name, errorMessage: message, stackTrace: [] });
      server?.kill('SIGKILL');
      send.end(() => process.exit(1));
    },
  );
}

process.on('message', (message: { type?: string }) => {
  if (message.type === 'connect' && ready) handOverConnection();
});
process.on('disconnect', () => process.exit(0));
