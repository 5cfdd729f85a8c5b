import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Starts one of the bench's own servers (bare, floor), which prints its port; `wrapper` runs Node.js (valgrind). */
export async function startChild(
  script: string,
  args: string[] = [],
  wrapper: string[] = [],
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const [command, ...rest] = [
    ...wrapper,
    process.execPath,
    fileURLToPath(new URL(script, import.meta.url)),
    ...args,
  ] as [string, ...string[]];
  const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => {
      resolve(d.toString().trim());
    }),
  );
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid as number,
    // Resolves once it has exited: a server under valgrind writes its last counts on the way out.
    stop: () => {
      child.kill();
      return exited;
    },
  };
}
