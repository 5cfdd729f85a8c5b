import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError, type ErrorCode } from '../core/errors.js';
import type { FunctionConfig } from '../core/function-config.js';
import { FrameDecoder, frameWriter, type Frame, type FrameSend } from './bootstraps/protocol.js';
import type { InvocationOutcome } from './custom-http.js';
import { FunctionServer } from './function-server.js';
import type { Confinement } from './sandbox/sandbox.js';

/** One version's code and configuration, as an instance runs it. */
export interface RunnableVersion {
  /** Identifies what runs: instances are never shared between versions, nor between two states of `$LATEST`. */
  key: string;
  functionName: string;
  /** `LATEST` or a version number, as the invocation reports it. */
  versionId: string;
  config: FunctionConfig;
  codeSha256: string;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  codeDir: string;
  /** An IPC channel as well (a custom runtime's relay hands Sluice its connections to the function's server). */
  ipc?: boolean;
}

/** What a standby's `init` adds: it was started before its function was known. */
export interface Specialisation {
  /** The instance's environment, which replaces the standby's own. */
  env: Record<string, string>;
  /** As root: the function's user, which the bootstrap becomes before it loads any code of the function's. */
  user?: { uid: number; gid: number };
}

/** A runtime's process, spawned and confined, that has said it waits for its `init`: a standby's. */
export interface WaitingRuntime {
  child: ChildProcess;
  channel: Socket;
  /** Holds what the channel has sent since the runtime's `waiting`: nothing, or part of a frame. */
  decoder: FrameDecoder;
  confinement: Confinement;
  /** The end of what the process wrote to stderr so far. */
  stderr: string;
}

/** How a runtime's process is spawned, before it knows where its function's code is. */
export type SpawnPlan = Omit<LaunchPlan, 'codeDir'>;

/** Spawns a runtime's process with the protocol channel on fd 3, and what its confinement needs from fd 4 on. */
export function spawnRuntime(plan: SpawnPlan, confinement: Confinement): ChildProcess {
  return spawn(plan.command, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    stdio: [
      'ignore',
      'pipe',
      'pipe',
      'pipe',
      ...Array<'pipe'>(confinement.extraPipes).fill('pipe'),
      ...(plan.ipc ? (['ipc'] as const) : []),
    ],
    ...(plan.uid !== undefined && { uid: plan.uid }),
    ...(plan.gid !== undefined && { gid: plan.gid }),
  });
}

export interface LogLine {
  /** The invocation that wrote it, or undefined for output outside any invocation. */
  requestId: string | undefined;
  qualifier: string | undefined;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface InvocationRequest {
  requestId: string;
  qualifier: string;
  /** The event: an HTTP trigger's is text, written straight into the frame that carries it. */
  payload: Buffer | string;
  /** The payload is an HTTP trigger's event: a custom runtime replays it as the request it describes. */
  http?: boolean | undefined;
}

export interface InvocationResult {
  kind: 'text' | 'bytes' | 'json';
  body: Buffer;
  /** How long it ran, as its runtime measured: without the server's own delays, which grow with its load. */
  ranMs?: number | undefined;
}

export interface InstanceLimits {
  startTimeoutMs: number;
  maxResponseBytes: number;
  memoryPollMs: number;
}

interface Pending {
  requestId: string;
  qualifier: string;
  resolve: (result: InvocationResult) => void;
  reject: (error: SluiceError) => void;
  /** Its timeout, from when it started; undefined while it waits behind the instance's running ones. */
  timer: NodeJS.Timeout | undefined;
  onStart: (() => void) | undefined;
}

/** An invocation that was sent to an instance which ended before starting it: it never ran, and may run elsewhere. */
export class NotStarted extends SluiceError {}

export const MAX_FRAME = 64 * 1024 * 1024;
/** An instance without an invocation for this long is no longer checked until its next one, or its exit. */
const IDLE_AFTER_MS = 1000;
/** How long a broken channel waits for its process's exit before the process is stopped. */
const CHANNEL_GRACE_MS = 200;
/** How long a custom runtime's failed request waits for the instance's exit, which says better why it failed. */
const EXIT_GRACE_MS = 200;

/** The signal that an exit status above 128 stands for, as shells and bubblewrap report it. */
function signalOf(status: number): string | undefined {
  if (status <= 128) return undefined;
  return Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0];
}

/**
 * One OS process running one version of a function: spawned, initialised through a readiness handshake,
 * invoked over the protocol channel, and killed on timeout, over memory, when idle or at shutdown.
 */
export class Instance {
  /** In the order sent, which is the order the runtime starts them in. */
  private readonly pending = new Map<number, Pending>();
  /** Of `pending`, those started: as many as the function's concurrency at most. */
  private running = 0;
  private nextId = 1;
  private death: { code: ErrorCode; message: string } | undefined;
  /** The end of what the process wrote to stderr before it was ready: the reason it did not start. */
  private startupStderr = '';
  private readonly send: FrameSend;
  private started = false;
  private memoryTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private lastInvokedAt = 0;
  private closed = false;
  private watchLog: ((line: LogLine) => void) | undefined;
  /** A custom runtime's own server, which its invocations go to over HTTP rather than as frames. */
  private functionServer: FunctionServer | undefined;
  readonly exited: Promise<void>;

  private constructor(
    readonly version: RunnableVersion,
    private readonly child: ChildProcess,
    private readonly channel: Socket,
    private readonly limits: InstanceLimits,
    private readonly confinement: Confinement,
  ) {
    this.send = frameWriter(channel);
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then everything the process wrote to stdout and stderr has been read.
      child.once('close', (code, signal) => {
        this.closed = true;
        clearTimeout(this.memoryTimer);
        this.functionServer?.close();
        void this.settle(code, signal).then(resolve);
      });
    });
  }

  /** After the process has exited: why (the kernel may have stopped it), and nothing of it left behind. */
  private async settle(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const verdict = await this.confinement.check().catch(() => ({ death: undefined }));
    if (verdict.death) this.death ??= verdict.death;
    await this.confinement.dispose();
    const killedBy =
      signal ?? (this.confinement.signalAsStatus && code !== null ? signalOf(code) : undefined);
    // Sluice's own kills say why in `death`: a signal without one came from elsewhere.
    const fallback = killedBy
      ? `was killed by ${killedBy}, sent by something other than Sluice (a user, or the kernel),`
      : `exited with status ${code ?? 'unknown'}`;
    const death = this.death ?? {
      code: 'InstanceCrashed',
      message: `the function's process ${fallback} during the invocation`,
    };
    for (const p of this.pending.values()) {
      if (p.timer === undefined) {
        p.reject(
          new NotStarted(death.code, `the instance ended before the invocation started: ${death.message}`),
        );
        continue;
      }
      clearTimeout(p.timer);
      p.reject(new SluiceError(death.code, death.message));
    }
    this.pending.clear();
    this.running = 0;
  }

  /** Spawns the process, sends `init` and waits for `ready`; a failure to start is a FunctionInitializationError. */
  static async start(
    version: RunnableVersion,
    plan: LaunchPlan,
    limits: InstanceLimits,
    onLog: (line: LogLine) => void,
    confinement: Confinement,
  ): Promise<Instance> {
    const child = spawnRuntime(plan, confinement);
    const instance = new Instance(version, child, child.stdio[3] as Socket, limits, confinement);
    instance.listen(onLog);
    // The runtime loads the function's code on init: only once the sandbox holds the process.
    await instance.handshake(
      new FrameDecoder(MAX_FRAME),
      confinement.start(child),
      { codeDir: plan.codeDir },
      onLog,
    );
    instance.watch(onLog);
    return instance;
  }

  /**
   * Makes a standby's waiting runtime an instance of `version`, its confinement already holding it to the
   * function's limits and its code already where `codeDir` says: `init` with the function's environment (and
   * user), and `ready`.
   */
  static async specialise(
    version: RunnableVersion,
    runtime: WaitingRuntime,
    codeDir: string,
    specialisation: Specialisation,
    limits: InstanceLimits,
    onLog: (line: LogLine) => void,
  ): Promise<Instance> {
    const { child, channel, confinement } = runtime;
    const instance = new Instance(version, child, channel, limits, confinement);
    instance.startupStderr = runtime.stderr;
    instance.listen(onLog);
    await instance.handshake(runtime.decoder, Promise.resolve(), { codeDir, ...specialisation }, onLog);
    instance.watch(onLog);
    return instance;
  }

  /** What the process writes to stdout and stderr is the log of the invocation in flight, or the instance's. */
  private listen(onLog: (line: LogLine) => void): void {
    const { config } = this.version;
    for (const stream of ['stdout', 'stderr'] as const) {
      this.child[stream]?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (stream === 'stderr' && !this.started)
          this.startupStderr = (this.startupStderr + text).slice(-2048);
        // V8 ends a process whose heap outgrows --max-old-space-size with this message, not a signal of ours.
        if (stream === 'stderr' && text.includes('heap out of memory')) {
          this.death ??= {
            code: 'MemoryLimitExceeded',
            message: `the instance ran out of memory (memorySize ${config.memorySize} MB)`,
          };
        }
        const owner = this.soleInvocation();
        onLog({ requestId: owner?.requestId, qualifier: owner?.qualifier, stream, text });
      });
    }
  }

  /**
   * Sends `init` once `prepared` (the sandbox holds the process, with the function's limits) and waits for
   * `ready`. A runtime's `waiting`, which says it could be sent `init`, needs no answer here.
   */
  private handshake(
    decoder: FrameDecoder,
    prepared: Promise<void>,
    init: { codeDir: string } & Partial<Specialisation>,
    onLog: (line: LogLine) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        this.kill('FunctionInitializationError', message);
        reject(new SluiceError('FunctionInitializationError', message));
      };
      const timer = setTimeout(() => {
        fail(`the instance did not start within ${this.limits.startTimeoutMs} ms`);
      }, this.limits.startTimeoutMs);
      this.child.once('error', (error) => {
        clearTimeout(timer);
        fail(`the runtime could not be started: ${error.message}`);
      });

      void this.exited.then(() => {
        clearTimeout(timer);
        const status = this.child.exitCode ?? this.child.signalCode ?? '?';
        const stderr = this.startupStderr.trim();
        if (!this.started)
          fail(`the runtime exited (${status}) before it was ready${stderr ? `: ${stderr}` : ''}`);
      });
      this.channel.on('data', (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          this.kill('InstanceCrashed', `the runtime broke the protocol: ${(error as Error).message}`);
          return;
        }
        for (const frame of frames) {
          const header = frame.header;
          if (header.type === 'ready') {
            this.started = true;
            // Only a custom runtime's relay has an IPC channel: its ready names the function's server's port.
            if (this.child.connected && typeof header.port === 'number')
              this.functionServer = new FunctionServer(this.child, header.port);
            clearTimeout(timer);
            resolve();
          } else if (header.type === 'initError') {
            clearTimeout(timer);
            const stack = (header.stackTrace as string[] | undefined)?.join('\n') ?? '';
            fail(`${String(header.errorType)}: ${String(header.errorMessage)}${stack ? `\n${stack}` : ''}`);
          } else if (header.type !== 'waiting') {
            this.receive(frame, onLog);
          }
        }
      });
      this.channel.on('error', () => {
        // A process that dies breaks its channel first: its exit, due any moment, says why better than this.
        const stop = setTimeout(() => {
          this.kill('InstanceCrashed', 'the runtime broke its channel to Sluice and was stopped');
        }, CHANNEL_GRACE_MS);
        void this.exited.then(() => {
          clearTimeout(stop);
        });
      });
      prepared.then(
        () => {
          const fn = this.version.config;
          this.send({
            type: 'init',
            function: {
              name: this.version.functionName,
              handler: fn.handler,
              memorySize: fn.memorySize,
              timeout: fn.timeout,
            },
            convention: fn.convention,
            instanceConcurrency: fn.instanceConcurrency,
            ...(fn.command && { command: fn.command }),
            ...init,
          });
        },
        (error: unknown) => {
          clearTimeout(timer);
          const stderr = this.startupStderr.trim();
          fail(`the sandbox could not be set up: ${stderr || (error as Error).message}`);
        },
      );
    });
  }

  private receive(frame: Frame, onLog: (line: LogLine) => void): void {
    const header = frame.header;
    const pending = typeof header.id === 'number' ? this.pending.get(header.id) : undefined;
    if (header.type === 'log') {
      const owner = pending ?? (header.id === null ? this.soleInvocation() : undefined);
      onLog({
        requestId: owner?.requestId,
        qualifier: owner?.qualifier,
        stream: header.stream === 'stderr' ? 'stderr' : 'stdout',
        text: frame.body.toString('utf8'),
      });
      return;
    }
    if (header.type === 'exiting') {
      // The process ends itself after its last answers: no new invocation may be sent to it meanwhile.
      this.death ??= {
        code: 'InstanceCrashed',
        message: "the function's process exited during the invocation",
      };
      return;
    }
    if (header.type === 'result') {
      const kind = header.kind as InvocationResult['kind'];
      const ranMs = typeof header.ms === 'number' && header.ms >= 0 ? header.ms : undefined;
      this.answer(header.id as number, { type: 'result', kind, body: Buffer.from(frame.body), ranMs });
    } else if (header.type === 'error') {
      this.answer(header.id as number, {
        type: 'error',
        errorType: String(header.errorType),
        errorMessage: String(header.errorMessage),
        stackTrace: (header.stackTrace as string[] | undefined) ?? [],
      });
    }
  }

  /** Settles an invocation still in flight with what the runtime answered; the next waiting one starts. */
  private answer(id: number, outcome: InvocationOutcome): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (pending.timer !== undefined) {
      clearTimeout(pending.timer);
      this.running--;
      this.startNext();
    }
    if (outcome.type === 'error') {
      pending.reject(
        new SluiceError('UnhandledInvocationError', outcome.errorMessage, {
          errorType: outcome.errorType,
          stackTrace: outcome.stackTrace,
        }),
      );
    } else if (outcome.body.length > this.limits.maxResponseBytes) {
      pending.reject(
        new SluiceError(
          'ResponseTooLarge',
          `the handler returned ${outcome.body.length} bytes; the limit is ${this.limits.maxResponseBytes}`,
        ),
      );
    } else {
      pending.resolve({ kind: outcome.kind, body: outcome.body, ranMs: outcome.ranMs });
    }
  }

  /** A custom runtime's invocation: an HTTP request straight to the function's server. */
  private invokeServer(server: FunctionServer, id: number, request: InvocationRequest): void {
    const { config } = this.version;
    const invocation = {
      function: {
        name: this.version.functionName,
        handler: config.handler,
        memorySize: config.memorySize,
        timeout: config.timeout,
      },
      requestId: request.requestId,
      qualifier: request.qualifier,
      versionId: this.version.versionId,
      http: request.http === true,
    };
    server.invoke(invocation, request.payload).then(
      (outcome) => {
        // A turn later: what the server wrote to its output before it answered, readable by now, is read
        // (and logged as this invocation's) before the invocation ends.
        setImmediate(() => {
          this.answer(id, outcome);
        });
      },
      (error: unknown) => {
        // A request fails most often because the server died, and the instance's exit says better why.
        void Promise.race([this.exited, sleep(EXIT_GRACE_MS)]).then(() => {
          if (!this.alive) return;
          this.answer(id, {
            type: 'error',
            errorType: 'ConnectionError',
            errorMessage: `the function's server failed the request: ${(error as Error).message}`,
            stackTrace: [],
          });
        });
      },
    );
  }

  /** Output that names no invocation belongs to the one running, when there is exactly one. */
  private soleInvocation(): Pending | undefined {
    return this.running === 1 ? this.runningInvocations()[0] : undefined;
  }

  /** The invocations running. */
  private runningInvocations(): Pending[] {
    return [...this.pending.values()].filter((p) => p.timer !== undefined);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Whether it may be sent invocations beyond its concurrency, which its runtime starts in order as running
   * ones end: not a custom runtime's, whose server would run them at once.
   */
  get pipelines(): boolean {
    return this.functionServer === undefined;
  }

  /**
   * Whether invocations sent to it this turn have yet to go out: one more sent now goes with them, in the
   * same system call, and wakes the process no more than they do.
   */
  get sending(): boolean {
    return this.send.corked;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.death === undefined;
  }

  /**
   * Sends an invocation, which starts at once while fewer than the function's concurrency run, or else once
   * those sent before it have made room (`pipelines`). `onStart` hears when it starts; its timeout runs from
   * then. One that never starts, its instance gone, fails with `NotStarted`.
   */
  invoke(request: InvocationRequest, onStart?: () => void): Promise<InvocationResult> {
    if (!this.alive)
      return Promise.reject(new NotStarted('InstanceCrashed', 'the instance is no longer running'));
    const id = this.nextId++;
    this.lastInvokedAt = Date.now();
    if (!this.checking) this.scheduleCheck();
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        requestId: request.requestId,
        qualifier: request.qualifier,
        resolve,
        reject,
        timer: undefined,
        onStart,
      };
      this.pending.set(id, pending);
      if (this.running < this.version.config.instanceConcurrency) this.begin(pending);
      if (this.functionServer) {
        this.invokeServer(this.functionServer, id, request);
        return;
      }
      this.send(
        {
          type: 'invoke',
          id,
          requestId: request.requestId,
          qualifier: request.qualifier,
          versionId: this.version.versionId,
        },
        request.payload,
      );
    });
  }

  private begin(pending: Pending): void {
    this.running++;
    pending.timer = setTimeout(() => {
      this.kill(
        'FunctionTimeout',
        `the invocation ran longer than the function's timeout of ${this.version.config.timeout} s`,
      );
    }, this.version.config.timeout * 1000);
    pending.onStart?.();
  }

  /** The runtime starts the first invocation still waiting as soon as one ends, as the server counts it here. */
  private startNext(): void {
    if (this.running >= this.version.config.instanceConcurrency) return;
    for (const p of this.pending.values()) {
      if (p.timer === undefined) {
        this.begin(p);
        return;
      }
    }
  }

  /** Ends the process at once; every invocation in flight fails with `code`. */
  kill(code: ErrorCode, message: string): void {
    this.death ??= { code, message };
    this.child.kill('SIGKILL');
  }

  /**
   * Polls what holds the instance: the kernel may have found it over its memory or its process limit. Every
   * `memoryPollMs` while it works, and not at all once it has been idle a while, so that a server at rest
   * wakes for nothing: a kill by the kernel meanwhile ends the process, whose exit is checked (`settle`).
   */
  private watch(onLog: (line: LogLine) => void): void {
    this.watchLog = onLog;
    this.scheduleCheck();
  }

  private scheduleCheck(): void {
    this.checking = true;
    this.memoryTimer = setTimeout(() => {
      void this.runCheck();
    }, this.limits.memoryPollMs);
    this.memoryTimer.unref();
  }

  private async runCheck(): Promise<void> {
    try {
      const verdict = await this.confinement.check();
      if (verdict.death) this.kill(verdict.death.code, verdict.death.message);
      const text = verdict.notice;
      if (text !== undefined) {
        // Said to the invocations running when it happened, or to the instance's own log if none is.
        const running = this.runningInvocations();
        const owners = running.length > 0 ? running : [undefined];
        for (const p of owners)
          this.watchLog?.({ requestId: p?.requestId, qualifier: p?.qualifier, stream: 'stderr', text });
      }
    } catch {
      // The instance is going; its exit says why.
    }
    const busy = this.pending.size > 0 || Date.now() - this.lastInvokedAt < IDLE_AFTER_MS;
    if (busy && !this.closed) this.scheduleCheck();
    else this.checking = false;
  }
}
