import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}
export type Options = Record<string, OptionSpec>;

/** Flags every command takes: where the server is, how to authenticate, and the output form. */
export const GLOBAL_OPTIONS: Options = {
  server: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_HELP = `global options:
  --server URL       the Sluice server (env SLUICE_SERVER; default http://127.0.0.1:9000); also --url
  --token T          the bearer token (env SLUICE_TOKEN)
  --token-file F     a file holding the token (env SLUICE_TOKEN_FILE; default ./.sluice/admin-token)
  --json             print the API's JSON, for scripts
  -h, --help         this help`;

/** A parsed command line: typed access to its flags and positionals, usage errors that name the command. */
export class Args {
  constructor(
    readonly command: string,
    private readonly values: Record<string, unknown>,
    private readonly positionalList: readonly string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? (value as string[]) : [];
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  positional(index: number): string {
    return this.positionalList[index] as string;
  }

  optionalPositional(index: number): string | undefined {
    return this.positionalList[index];
  }

  get json(): boolean {
    return this.flag('json');
  }

  get help(): boolean {
    return this.flag('help');
  }

  usageError(message: string): UsageError {
    return new UsageError(message, `see "sluice ${this.command} --help"`);
  }
}

/**
 * `--weight -1` would read as a flag -1; joined as `--weight=-1` it reaches the weight check and its message.
 */
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** `Unknown option '--foo'. To specify…` → `unknown option --foo`: the first sentence, without quotes. */
function shortParseMessage(error: Error & { code?: string }): string {
  const option = /'(-[^' ]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? error.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing|ambiguous/.test(error.message)) return `${option ?? 'an option'} needs a value`;
      if (/does not take an argument/.test(error.message)) return `${option ?? 'a flag'} takes no value`;
      return error.message.split('. ')[0] ?? error.message;
    default:
      return error.message.split('. ')[0] ?? error.message;
  }
}

/**
 * Parses a command's arguments strictly (unknown flags are usage errors); `positionals` names them, an
 * optional one ending in `?`. With `--help` the positionals are not checked.
 */
export function parseCommand(
  command: string,
  argv: readonly string[],
  options: Options,
  positionals: readonly string[],
): Args {
  const all = { ...GLOBAL_OPTIONS, ...options };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, all),
      options: all,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const err = error as Error & { code?: string };
    if (err.code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(shortParseMessage(err), `see "sluice ${command} --help"`);
    }
    throw error;
  }
  const args = new Args(command, parsed.values, parsed.positionals);
  if (args.help) return args;
  const required = positionals.filter((p) => !p.endsWith('?'));
  if (parsed.positionals.length < required.length) {
    throw args.usageError(`missing ${required[parsed.positionals.length] ?? 'argument'}`);
  }
  if (parsed.positionals.length > positionals.length) {
    throw args.usageError(`unexpected argument "${parsed.positionals[positionals.length] ?? ''}"`);
  }
  return args;
}

/**
 * A share of traffic: a fraction (`0.3`) or a percentage (`30%`), in steps of 0.0001, from 0 to 1.
 */
export function parseWeight(text: string, flag: string): number {
  const hint = `${flag} takes a fraction from 0 to 1 (0.3) or a percentage (30%)`;
  const match = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (!match) throw new UsageError(`${hint}, not "${text}"`, `such as ${flag} 0.1 or ${flag} 10%`);
  const number = Number(match[1]);
  const fraction = match[2] === '%' ? number / 100 : number;
  if (fraction > 1) {
    const guess =
      match[2] === '' && Number.isInteger(number) && number <= 100 ? `; did you mean ${text}%?` : '';
    throw new UsageError(`${hint}, not ${text}${guess}`);
  }
  const steps = fraction * 10_000;
  if (Math.abs(steps - Math.round(steps)) > 1e-6) {
    throw new UsageError(`${flag} has more precision than 0.0001 (0.01 %): ${text}`);
  }
  return Math.round(steps) / 10_000;
}

/** `K=V` pairs (`--header User=Bob`, `--var env=prod`) → an object; the value may hold `=`. */
export function parsePairs(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes NAME=VALUE, not "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** A routing key: a JSON object of strings, such as `{"userId":"42"}`. */
export function parseRoutingKey(text: string, flag = '--routing-key'): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} takes a JSON object of strings such as '{"userId":"42"}', not ${text}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${flag} takes a JSON object of strings such as '{"userId":"42"}', not ${text}`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new UsageError(`${flag}: the value of "${key}" must be a string ("${String(value)}" quoted)`);
    }
  }
  return parsed as Record<string, string>;
}

/**
 * A version an alias points at: a number or `$LATEST` (also written `LATEST` or `latest`, since a shell
 * expands an unquoted `$LATEST` to nothing).
 */
export function parseVersionArg(text: string, flag: string): string {
  if (/^(\$?LATEST|latest)$/.test(text)) return '$LATEST';
  if (/^[1-9]\d{0,15}$/.test(text)) return text;
  if (text === '') {
    throw new UsageError(
      `${flag} is empty: did the shell expand $LATEST? Quote it ('$LATEST') or write LATEST`,
    );
  }
  throw new UsageError(`${flag} takes a version number or $LATEST, not "${text}"`);
}

/** A positive integer flag (`--limit`, `--revision`). */
export function parseCount(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} takes a whole number of at least ${min}, not "${text}"`);
  }
  return n;
}
