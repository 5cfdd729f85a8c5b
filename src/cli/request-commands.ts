import type { Args } from './args.js';
import { type Client, listAll } from './client.js';
import type { Command } from './command.js';
import { historyTable, printResult } from './output.js';

/**
 * The commands that make one request on the resource their positionals name and print what it answers (get,
 * list, delete, history): they differ only in the path and the words, so one definition serves them all.
 */

/** Each command's help, and the positionals that name the resource (`['FN', 'ALIAS']`). */
interface Help<P extends readonly string[]> {
  summary: string;
  usage: string;
  positionals: P;
}

/** The positionals' values, one for each name. */
type Names<P extends readonly string[]> = { [K in keyof P]: string };

/** A command with this help whose `run` is given the named positionals' values. */
function command<P extends readonly string[]>(
  { summary, usage, positionals }: Help<P>,
  run: (names: Names<P>, args: Args, client: () => Promise<Client>) => Promise<void>,
): Command {
  return {
    summary,
    usage,
    positionals: [...positionals],
    run: (args, ctx) =>
      run(positionals.map((_, i) => args.positional(i)) as Names<P>, args, () => ctx.client()),
  };
}

/** GET the resource and print it: with --json as the API sends it, else as `text` describes it. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export function getCommand<T, const P extends readonly string[]>(
  spec: Help<P> & {
    path: (names: Names<P>) => string;
    text: (view: T, client: Client) => string | Promise<string>;
  },
): Command {
  return command(spec, async (names, args, connect) => {
    const client = await connect();
    const view = await client.call<T>('GET', spec.path(names));
    await printResult(args.json, view, () => spec.text(view, client));
  });
}

/**
 * GET a collection and print it: `{ [key]: items }` with --json, else as `text` describes the items. `paged`:
 * the collection comes a page at a time, and is read to its end.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export function listCommand<T, const P extends readonly string[]>(
  spec: Help<P> & {
    path: (names: Names<P>) => string;
    key: string;
    paged?: boolean;
    text: (items: T[], names: Names<P>, client: Client) => string | Promise<string>;
  },
): Command {
  return command(spec, async (names, args, connect) => {
    const client = await connect();
    const path = spec.path(names);
    const items = spec.paged
      ? await listAll<T>(client, path, spec.key)
      : ((await client.call<Record<string, T[]>>('GET', path))[spec.key] as T[]);
    await printResult(args.json, { [spec.key]: items }, () => spec.text(items, names, client));
  });
}

/** DELETE the resource, then print `json` for scripts or `done` for people. */
export function deleteCommand<const P extends readonly string[]>(
  spec: Help<P> & {
    path: (names: Names<P>) => string;
    json: (names: Names<P>) => unknown;
    done: (names: Names<P>) => string;
  },
): Command {
  return command(spec, async (names, args, connect) => {
    await (await connect()).call('DELETE', spec.path(names));
    await printResult(args.json, spec.json(names), () => spec.done(names));
  });
}

/** GET the resource's history: every change, with what it left described by `describeAfter`. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export function historyCommand<T, const P extends readonly string[]>(
  spec: Help<P> & {
    path: (names: Names<P>) => string;
    afterHeader: string;
    describeAfter: (after: T) => string;
  },
): Command {
  return command(spec, async (names, args, connect) => {
    const { history } = await (
      await connect()
    ).call<{
      history: { revision: number; action: string; actor: string; at: string; after: T | null }[];
    }>('GET', `${spec.path(names)}/history`);
    await printResult(args.json, { history }, () =>
      historyTable(history, spec.afterHeader, spec.describeAfter),
    );
  });
}
