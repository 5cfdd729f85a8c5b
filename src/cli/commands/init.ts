import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FUNCTION_NAME } from '../../contract/domain.js';
import { SAMPLE_HANDLERS, type Sample } from '../../contract/seed-handlers.js';
import type { Command } from '../command.js';
import { formatSluiceYaml } from '../config-file.js';
import { CliError } from '../errors.js';
import { printResult } from '../output.js';

const HANDLERS: Partial<Record<string, Sample>> = SAMPLE_HANDLERS;

export const initCommand: Command = {
  summary: "create a function's directory: the seeds' sample handler and a sluice.yaml",
  usage: `usage: sluice init DIR [--runtime nodejs20|python3|php8.2|csharp|custom] [--name NAME]

  --runtime R    nodejs20 (the default), python3, php8.2, csharp, or custom (an executable bootstrap,
                 a Python server that reports the version as the seeds' samples do)
  --name NAME    the function's name (default: the directory's name)

Then "sluice deploy DIR" creates the function, "sluice deploy DIR --publish" publishes a version.

example: sluice init hello --runtime nodejs20`,
  positionals: ['DIR'],
  options: { runtime: { type: 'string' }, name: { type: 'string' } },
  async run(args) {
    const dir = resolve(args.positional(0));
    const runtime = args.string('runtime') ?? 'nodejs20';
    const handler = HANDLERS[runtime];
    if (!handler)
      throw args.usageError(`--runtime takes ${Object.keys(HANDLERS).join(', ')}, not "${runtime}"`);
    const name = args.string('name') ?? basename(dir);
    if (!FUNCTION_NAME.test(name)) {
      throw args.usageError(
        `"${name}" is not a function name (a letter or _, then letters, digits, _ or -; at most 64): pass --name`,
      );
    }
    const files = { [handler.file]: handler.source, 'sluice.yaml': '' };
    for (const file of Object.keys(files)) {
      if (existsSync(join(dir, file)))
        throw new CliError(`${join(dir, file)} exists already; init leaves it alone`);
    }
    files['sluice.yaml'] = formatSluiceYaml({
      name,
      runtime,
      handler: handler.handler,
      memorySize: 128,
      timeout: 3,
      description: "The seeds' sample handler: it reports the version that ran",
    });
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      const mode = file === handler.file ? handler.mode : 0o644;
      await writeFile(join(dir, file), text, { flag: 'wx', mode });
    }
    await printResult(
      args.json,
      { directory: dir, name, runtime, files: Object.keys(files) },
      () =>
        `created ${name} (${runtime}) in ${dir}: ${Object.keys(files).join(', ')}\n` +
        `next: sluice deploy ${args.positional(0)} --publish`,
    );
  },
};
