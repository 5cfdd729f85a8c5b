import { readFileSync } from 'node:fs';
import { GLOBAL_HELP, GLOBAL_OPTIONS, parseCommand } from './args.js';
import { type Client, connect, whatExists } from './client.js';
import { type Context, type Group, type Node, isGroup, isRaw } from './command.js';
import { aliasCommands } from './commands/aliases.js';
import { apiCommands } from './commands/apis.js';
import { keyCommands, tokenCommands } from './commands/credentials.js';
import { deployCommand } from './commands/deploy.js';
import { explainCommand } from './commands/explain.js';
import { functionCommands } from './commands/functions.js';
import { initCommand } from './commands/init.js';
import { invokeCommand } from './commands/invoke.js';
import { logsCommand } from './commands/logs.js';
import { metricsCommand } from './commands/metrics.js';
import { provisionCommands } from './commands/provision.js';
import { asyncCommands } from './commands/async.js';
import { triggerCommands } from './commands/triggers.js';
import { rolloutCommands } from './commands/rollouts.js';
import { versionCommands } from './commands/versions.js';
import { ApiError, CliError, UsageError } from './errors.js';

const ROOT: Group = {
  summary: 'Sluice: release function code safely',
  commands: {
    init: initCommand,
    deploy: deployCommand,
    invoke: invokeCommand,
    explain: explainCommand,
    alias: aliasCommands,
    version: versionCommands,
    rollout: rolloutCommands,
    provision: provisionCommands,
    async: asyncCommands,
    trigger: triggerCommands,
    function: functionCommands,
    logs: logsCommand,
    metrics: metricsCommand,
    api: apiCommands,
    token: tokenCommands,
    key: keyCommands,
    server: {
      summary: 'run the Sluice server: the API, the console, triggers and stages',
      // Loaded only when asked for: the server's modules would slow every other command's start.
      raw: async (argv) => (await import('./server-command.js')).serverCommand(argv),
    },
  },
};

/** The connection the command made, if any: a "not found" error then lists what does exist. */
let client: Client | undefined;

const SYNONYMS: Record<string, string> = {
  functions: 'function',
  versions: 'version',
  aliases: 'alias',
  apis: 'api',
  tokens: 'token',
  keys: 'key',
};

function groupUsage(group: Group, path: readonly string[]): string {
  const name = ['sluice', ...path].join(' ');
  const width = Math.max(...Object.keys(group.commands).map((c) => c.length)) + 2;
  const lines = Object.entries(group.commands).map(([c, node]) => `  ${c.padEnd(width)}${node.summary}`);
  return `usage: ${name} <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "${name} <command> --help" for its options and an example.\n\n${GLOBAL_HELP}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function unknownCommand(group: Group, path: readonly string[], word: string): UsageError {
  const near = Object.keys(group.commands).find((c) => editDistance(c, word) <= 2);
  const where = ['sluice', ...path].join(' ');
  return new UsageError(
    `unknown command "${[...path, word].join(' ')}"${near ? ` (did you mean "${near}"?)` : ''}`,
    `run "${where} --help" for the list`,
  );
}

/** Global flags written before the command (`sluice --server URL alias list B`) move after it. */
function hoistGlobalFlags(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    const name = /^--([\w-]+)(=.*)?$/.exec(arg);
    const spec = name && GLOBAL_OPTIONS[name[1] as string];
    if (!spec || name[1] === 'help') break;
    leading.push(arg);
    i++;
    if (spec.type === 'string' && name[2] === undefined && i < argv.length) leading.push(argv[i++] as string);
  }
  return [...argv.slice(i), ...leading];
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  let node: Node = ROOT;
  const path: string[] = [];
  let i = 0;
  while (isGroup(node)) {
    const word = argv[i];
    if (word === undefined && path.length === 0) {
      process.stdout.write(`${groupUsage(ROOT, [])}\n`);
      return 2;
    }
    if (word === undefined) {
      throw new UsageError(
        `missing a command after "${path.join(' ')}": ${Object.keys(node.commands).join(', ')}`,
        `see "sluice ${path.join(' ')} --help"`,
      );
    }
    if (word === '--help' || word === '-h' || word === 'help') {
      process.stdout.write(`${groupUsage(node, path)}\n`);
      return 0;
    }
    if (word === '--version' && path.length === 0) {
      process.stdout.write(`sluice ${packageVersion()}\n`);
      return 0;
    }
    const next: Node | undefined = node.commands[word] ?? node.commands[SYNONYMS[word] ?? ''];
    if (!next) throw unknownCommand(node, path, word);
    path.push(SYNONYMS[word] ?? word);
    node = next;
    i++;
  }
  if (isRaw(node)) {
    await node.raw(argv.slice(i));
    return 0;
  }
  const name = path.join(' ');
  const args = parseCommand(name, argv.slice(i), node.options ?? {}, node.positionals ?? []);
  if (args.help) {
    process.stdout.write(`${node.usage}\n\n${GLOBAL_HELP}\n`);
    return 0;
  }
  const context: Context = {
    client: async () => (client ??= await connect(args)),
  };
  await node.run(args, context);
  return 0;
}

/** One line on stderr for any failure: usage errors exit 2, everything else 1; never a stack trace. */
async function report(error: unknown): Promise<number> {
  const line = (text: string) => process.stderr.write(`sluice: ${text.replace(/\s*\n\s*/g, ' ')}\n`);
  if (error instanceof UsageError) {
    line(`${error.message}${error.hint ? `; ${error.hint}` : ''}`);
    return 2;
  }
  if (error instanceof ApiError) {
    const exists = client ? await whatExists(client, error) : undefined;
    line(`${error.message}${exists ? ` (${exists})` : ''}`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    line(error.message);
    return error.exitCode;
  }
  const err = error as Error & { code?: unknown };
  if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    line(`${err.message.split('. ')[0] ?? err.message}; see "sluice server --help"`);
    return 2;
  }
  line(
    typeof err.code === 'string' && /^[A-Z]/.test(err.code)
      ? `${err.code}: ${err.message}`
      : err.message || String(error),
  );
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(hoistGlobalFlags(argv));
  } catch (error) {
    return report(error);
  }
}
