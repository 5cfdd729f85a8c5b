import assert from 'node:assert/strict';
import { it } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, type Frame } from '../../src/runtime/bootstraps/protocol.js';

const MiB = 1024 * 1024;

export interface BootstrapStart {
  /** The runtime's bootstrap, as the server starts it on the host. */
  command: string;
  args: string[];
  env: Record<string, string>;
  files: Record<string, string>;
  handler?: string;
  concurrency?: number;
  convention?: 'fc' | 'scf';
}

export interface Reply {
  /** The answer, its header without `ms`. */
  frame: Frame;
  logs: Frame[];
  /** How long the invocation ran, as the bootstrap measured it (`ms`, which every answer must carry). */
  ranMs: number;
}

/**
 * One runtime bootstrap process, driven over its protocol channel (fd 3) the way an instance is, and the
 * frames it has sent so far: for testing a bootstrap against the protocol, without the server around it.
 */
export class BootstrapProcess {
  private static readonly running = new Set<BootstrapProcess>();
  /** What it sent after its `waiting`. */
  readonly received: Frame[] = [];
  /** Its first frame, which says it is ready for `init`. */
  readonly waiting: Promise<Frame>;
  readonly exited: Promise<number | null>;
  stdout = '';
  stderr = '';
  private readonly listeners = new Set<(frame: Frame) => void>();
  private readonly socket: Duplex;

  private constructor(
    readonly child: ChildProcess,
    readonly codeDir: string,
    private readonly options: BootstrapStart,
  ) {
    this.socket = child.stdio[3] as Duplex;
    const decoder = new FrameDecoder(64 * MiB);
    let waited: (frame: Frame) => void = () => undefined;
    this.waiting = new Promise((resolve) => (waited = resolve));
    this.socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.header.type === 'waiting' && this.received.length === 0) {
          waited(frame);
          continue;
        }
        this.received.push(frame);
        for (const listener of this.listeners) listener(frame);
      }
    });
    this.socket.on('error', () => undefined);
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        resolve(code);
      });
    });
  }

  /** Writes the files into a code directory of their own, starts the bootstrap there and sends `init`. */
  static async start(options: BootstrapStart): Promise<BootstrapProcess> {
    const instance = await BootstrapProcess.spawn(options);
    instance.init();
    return instance;
  }

  /**
   * Writes the files into a code directory of their own and starts the bootstrap, in the code directory or,
   * as a standby starts, in `cwd`; `init` is left to the caller.
   */
  static async spawn(options: BootstrapStart, cwd?: string): Promise<BootstrapProcess> {
    const codeDir = await mkdtemp(path.join(tmpdir(), 'sluice-bootstrap-test-'));
    for (const [name, text] of Object.entries(options.files)) {
      await mkdir(path.dirname(path.join(codeDir, name)), { recursive: true });
      await writeFile(path.join(codeDir, name), text);
    }
    const child = spawn(options.command, options.args, {
      cwd: cwd ?? codeDir,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const instance = new BootstrapProcess(child, codeDir, options);
    BootstrapProcess.running.add(instance);
    return instance;
  }

  /** Sends `init`, with what a standby's adds (`env`, `user`). */
  init(extra: Record<string, unknown> = {}): void {
    const { handler = 'index.handler', concurrency = 1, convention = 'fc' } = this.options;
    this.send({
      type: 'init',
      function: { name: 'B', handler, memorySize: 128, timeout: 3 },
      convention,
      codeDir: this.codeDir,
      instanceConcurrency: concurrency,
      ...extra,
    });
  }

  /** Starts a bootstrap and waits for its ready frame. */
  static async ready(options: BootstrapStart): Promise<BootstrapProcess> {
    const instance = await BootstrapProcess.start(options);
    const frame = await instance.waitFor((f) => f.header.type === 'ready' || f.header.type === 'initError');
    assert.equal(frame.header.type, 'ready', JSON.stringify(frame.header));
    return instance;
  }

  /** Stops every bootstrap started so far (for afterEach). */
  static async stopAll(): Promise<void> {
    await Promise.all([...BootstrapProcess.running].map((instance) => instance.stop()));
    BootstrapProcess.running.clear();
  }

  send(header: { type: string } & Record<string, unknown>, body?: Buffer): void {
    this.socket.write(encodeFrame(header, body));
  }

  /** The first frame, received or to come, that matches; the deadline is generous, for a busy machine. */
  waitFor(matches: (frame: Frame) => boolean, timeoutMs = 30_000): Promise<Frame> {
    const found = this.received.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const listener = (frame: Frame): void => {
        if (!matches(frame)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(frame);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no matching frame in ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  /** Sends an invocation; resolves with its answer and the log frames tagged with its id that preceded it. */
  async invoke(id: number, body = Buffer.alloc(0), fields: Record<string, unknown> = {}): Promise<Reply> {
    this.send(
      {
        type: 'invoke',
        id,
        requestId: `req-${id}`,
        qualifier: 'alias1',
        versionId: '1',
        ...fields,
      },
      body,
    );
    const frame = await this.waitFor(
      (f) => (f.header.type === 'result' || f.header.type === 'error') && f.header['id'] === id,
    );
    const before = this.received.slice(0, this.received.indexOf(frame));
    const { ms, ...header } = frame.header;
    assert.ok(
      typeof ms === 'number' && ms >= 0,
      `the answer says how long it ran: ${JSON.stringify(frame.header)}`,
    );
    return {
      frame: { header, body: frame.body },
      logs: before.filter((f) => f.header.type === 'log' && f.header['id'] === id),
      ranMs: ms,
    };
  }

  closeSocket(): void {
    this.socket.destroy();
  }

  async exitCode(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the bootstrap did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    await rm(this.codeDir, { recursive: true, force: true });
  }
}

/** The text of log frames, in order. */
export const logText = (logs: readonly Frame[]): string =>
  Buffer.concat(logs.map((f) => f.body)).toString('utf8');

/** The stack trace of an error frame, checked to be a list of strings. */
export function stackTraceOf(frame: Frame): string[] {
  const stack: unknown = frame.header['stackTrace'];
  assert.ok(Array.isArray(stack), 'stackTrace is an array');
  for (const line of stack) assert.equal(typeof line, 'string');
  return stack as string[];
}

/**
 * Where among the frames received the first log line holding `text` came: whether invocations overlapped shows
 * in the order of their lines, with no clock involved.
 */
export function logIndex(instance: BootstrapProcess, text: string): number {
  const index = instance.received.findIndex(
    (f) => f.header.type === 'log' && f.body.toString('utf8').includes(text),
  );
  assert.ok(index >= 0, `no log line holds ${JSON.stringify(text)}`);
  return index;
}

/** Code that cannot be loaded, and how the bootstrap must report it. */
export interface InitFailure {
  name: string;
  files: Record<string, string>;
  errorType: string;
  message: RegExp;
}

/**
 * One test per case, for any runtime's bootstrap: the code that fails to load is reported in an initError
 * frame with its type, message and stack, and the bootstrap exits with status 1.
 */
export function itReportsInitErrors(
  cases: readonly InitFailure[],
  start: (options: Pick<BootstrapStart, 'files'>) => Promise<BootstrapProcess>,
): void {
  for (const { name, files, errorType, message } of cases) {
    it(`reports ${name} and exits with status 1`, async () => {
      const instance = await start({ files });
      const frame = await instance.waitFor((f) => f.header.type !== 'log');
      assert.equal(frame.header.type, 'initError');
      assert.equal(frame.header['errorType'], errorType, JSON.stringify(frame.header));
      assert.match(String(frame.header['errorMessage']), message);
      assert.ok(stackTraceOf(frame).length > 0, 'the error has a stack');
      assert.equal(await instance.exitCode(), 1);
    });
  }
}

/**
 * For any runtime's bootstrap: with the `scf` convention, a handler written for Tencent SCF gets the event
 * parsed from JSON (its text when it is not JSON) and a context with SCF's fields as well as FC's. `file` holds
 * `index.main_handler`, which answers what it got: `{event, scf: {…context fields}, fcRequestId, namespace}`.
 */
export function itRunsScfHandlers(
  file: Record<string, string>,
  start: (options: Pick<BootstrapStart, 'files' | 'handler' | 'convention'>) => Promise<BootstrapProcess>,
): void {
  it("calls an SCF handler with the event parsed from JSON and SCF's context", async () => {
    const instance = await start({ files: file, handler: 'index.main_handler', convention: 'scf' });
    const answer = async (id: number, payload: string, versionId = '1') => {
      const { frame } = await instance.invoke(id, Buffer.from(payload), { versionId, qualifier: 'prepub' });
      assert.deepEqual(frame.header, { type: 'result', id, kind: 'json' }, frame.body.toString());
      return JSON.parse(frame.body.toString()) as Record<string, unknown>;
    };
    assert.deepEqual(await answer(1, '{"User":"Bob","n":[1,2]}'), {
      event: { User: 'Bob', n: [1, 2] },
      scf: {
        request_id: 'req-1',
        function_name: 'B',
        function_version: '1',
        namespace: 'default',
        qualifier: 'prepub',
        time_limit_in_ms: 3000,
        memory_limit_in_mb: 128,
      },
      fcRequestId: 'req-1',
      namespace: 'default',
    });
    const latest = await answer(2, 'not json', 'LATEST');
    assert.equal(latest['event'], 'not json');
    assert.equal((latest['scf'] as Record<string, unknown>)['function_version'], '$LATEST');
  });
}
