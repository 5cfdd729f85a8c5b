import { CliError } from './errors.js';
import { serverCommand } from './server-command.js';

const USAGE = `usage: sluice <command> [options]

commands:
  server    run the Sluice server (control plane and data plane on one port)

Run "sluice <command> --help" for a command's options.`;

const commands: Record<string, (args: string[]) => Promise<void>> = {
  server: serverCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`sluice: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  try {
    await command(rest);
    return 0;
  } catch (error) {
    const exitCode = error instanceof CliError ? error.exitCode : 1;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`sluice ${name}: ${message}\n`);
    return exitCode;
  }
}
