import { execFile } from 'node:child_process';
import { SLUICE_BIN } from './server-process.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `sluice` executable as a real process in `cwd` with `env`; never rejects. */
export function runSluice(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE_BIN, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
