import type { Args, Options } from './args.js';
import type { Client } from './client.js';

export interface Context {
  /** The connection to the server, made on first use (so that `init` needs none). */
  client(): Promise<Client>;
}

/** One command: its help (with an example), flags and positionals, and what it does. */
export interface Command {
  summary: string;
  usage: string;
  options?: Options;
  /** Names of positionals; an optional one ends with `?`. */
  positionals?: string[];
  run(args: Args, ctx: Context): Promise<void>;
}

/** A command that parses its own arguments (`sluice server`). */
export interface RawCommand {
  summary: string;
  raw: (argv: string[]) => Promise<void>;
}

/** A group of subcommands (`sluice alias create|update|…`). */
export interface Group {
  summary: string;
  commands: Record<string, Node>;
}

export type Node = Command | RawCommand | Group;

export const isGroup = (node: Node): node is Group => 'commands' in node;
export const isRaw = (node: Node): node is RawCommand => 'raw' in node;
