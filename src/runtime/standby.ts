import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { FrameDecoder, type Frame } from './bootstraps/protocol.js';
import type { CodeView } from './code-view.js';
import { MAX_FRAME, type WaitingRuntime } from './instance.js';
import type { RuntimeProfile } from './launchers.js';
import type { Confinement } from './sandbox/sandbox.js';

/** A standby's process as the launcher spawned it, and what goes with it. */
export interface StandbyProcess {
  child: ChildProcess;
  confinement: Confinement;
  /** What its sandbox shows at /code, filled once its function is known; undefined unsandboxed. */
  view: CodeView | undefined;
  /** Its HOME and TMPDIR, which its instance keeps. */
  tmpDir: string;
  /** Whether it must become its function's user on `init` (a sandbox made by a root server). */
  switchesUser: boolean;
  /** Removes what is left of it once its process has exited (its view, its temporary directory). */
  cleanup: () => Promise<void>;
}

/** Why a standby did not start; `lasting` when no other of its profile will (its runtime cannot switch users). */
export class StandbyFailure extends Error {
  constructor(
    message: string,
    readonly lasting = false,
  ) {
    super(message);
  }
}

type State = 'starting' | 'ready' | 'reserved' | 'handed' | 'dead';

/**
 * A runtime started ahead of any function: spawned, sandboxed and bootstrapped, waiting for an `init` that
 * makes it one function's instance. It is handed over once, to one instance, and never comes back: when that
 * instance ends, so does its process.
 */
export class Standby {
  private readonly decoder = new FrameDecoder(MAX_FRAME);
  private readonly channel: Socket;
  private stderr = '';
  private state: State = 'starting';
  /** Killed while it started: it ends as soon as its start settles (see `kill`), and no one may take it. */
  private doomed = false;
  /** Settles once it waits for `init` inside its confinement; rejects with a StandbyFailure. */
  readonly ready: Promise<void>;
  /** Settles once its process has exited and nothing of it is left, whoever held it then. */
  readonly gone: Promise<void>;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onStderr = (chunk: Buffer) => {
    this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2048);
  };
  // A standby writes nothing before its `init`, but what it does write must not fill the pipe.
  private readonly onStdout = () => undefined;
  private readonly onChannelError = () => undefined;

  constructor(
    readonly profile: RuntimeProfile,
    private readonly process: StandbyProcess,
    startTimeoutMs: number,
  ) {
    const { child, confinement } = process;
    this.channel = child.stdio[3] as Socket;
    let waiting = false;
    let confined = false;
    let fail: (failure: StandbyFailure) => void = () => undefined;
    let settle: () => void = () => undefined;
    this.onData = (chunk) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (error) {
        fail(new StandbyFailure(`the runtime broke the protocol: ${(error as Error).message}`));
        return;
      }
      for (const { header } of frames) {
        if (header.type !== 'waiting' || waiting) continue;
        if (process.switchesUser && header.switchUser === false) {
          fail(new StandbyFailure("the runtime cannot become a function's user (PHP without FFI)", true));
          return;
        }
        waiting = true;
        settle();
      }
    };
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new StandbyFailure(`it did not start within ${startTimeoutMs} ms`));
      }, startTimeoutMs);
      fail = (failure) => {
        clearTimeout(timer);
        if (this.state !== 'starting') return;
        this.state = 'dead';
        child.kill('SIGKILL');
        reject(failure);
      };
      settle = () => {
        if (!waiting || !confined || this.state !== 'starting') return;
        clearTimeout(timer);
        this.state = 'ready';
        resolve();
      };
      child.once('error', (error) => {
        fail(new StandbyFailure(`the runtime could not be started: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        const stderr = this.stderr.trim();
        fail(
          new StandbyFailure(
            `it exited (${code ?? signal ?? '?'}) before it was ready${stderr ? `: ${stderr}` : ''}`,
          ),
        );
        if (this.state === 'ready' || this.state === 'reserved') this.state = 'dead';
      });
      confinement.start(child).then(
        () => {
          confined = true;
          settle();
        },
        (error: unknown) => {
          fail(
            new StandbyFailure(
              `the sandbox could not be set up: ${this.stderr.trim() || (error as Error).message}`,
            ),
          );
        },
      );
    });
    this.ready.catch(() => undefined);
    this.channel.on('data', this.onData);
    this.channel.on('error', this.onChannelError);
    child.stdout?.on('data', this.onStdout);
    child.stderr?.on('data', this.onStderr);
    this.gone = new Promise((resolve) => {
      child.once('close', () => {
        // Once handed over, its instance disposes of its confinement, as of any instance's.
        const disposed = this.state === 'handed' ? Promise.resolve() : confinement.dispose();
        void disposed
          .catch(() => undefined)
          .then(() => process.cleanup())
          .catch(() => undefined)
          .then(resolve);
      });
    });
  }

  /** What its sandbox shows as its code, for the one instance it becomes to fill. */
  get view(): CodeView | undefined {
    return this.process.view;
  }

  get tmpDir(): string {
    return this.process.tmpDir;
  }

  get isReady(): boolean {
    return this.state === 'ready' && this.alive && !this.doomed;
  }

  private get alive(): boolean {
    const { child } = this.process;
    return child.exitCode === null && child.signalCode === null;
  }

  /** Takes it out of reach of every other start: true when it was ready and still runs. */
  reserve(): boolean {
    if (!this.isReady) return false;
    this.state = 'reserved';
    return true;
  }

  /**
   * Hands its waiting runtime over to the one instance it becomes, which must take its process's events from
   * here on, in this same turn; undefined when it has died since it was reserved.
   */
  handOver(): WaitingRuntime | undefined {
    if (this.state !== 'reserved' || !this.alive) return undefined;
    this.state = 'handed';
    const { child, confinement } = this.process;
    this.channel.off('data', this.onData);
    this.channel.off('error', this.onChannelError);
    child.stdout?.off('data', this.onStdout);
    child.stderr?.off('data', this.onStderr);
    return { child, channel: this.channel, decoder: this.decoder, confinement, stderr: this.stderr };
  }

  /** Holds it to its function's memorySize (and the CPU weight that goes with it), once reserved. */
  limit(memorySize: number): Promise<void> {
    return this.process.confinement.limit(memorySize);
  }

  /**
   * Ends it, unless an instance holds it. One still starting ends once its start settles (bounded by the start
   * timeout): killed before its sandbox holds the runtime in its cgroup, bubblewrap could leave the runtime
   * running, outside every group and holding its pipes, and its `gone` would never come.
   */
  kill(): void {
    if (this.state === 'handed') return;
    if (this.state === 'starting') {
      if (!this.doomed) {
        this.doomed = true;
        this.ready.then(
          () => {
            this.kill();
          },
          () => undefined,
        );
      }
      return;
    }
    this.state = 'dead';
    this.process.child.kill('SIGKILL');
  }
}
