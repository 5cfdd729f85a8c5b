import { CONFIG_FIELDS } from '../../contract/domain.js';
import { parseVersionArg } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Group } from '../command.js';
import { bytes, fields, print, printJson, printResult, shortSha, table, when } from '../output.js';
import type { FunctionConfigView, FunctionView, VersionView } from '../views.js';
import { listCommand } from '../request-commands.js';
import { fileDigests } from '../zip-digests.js';
import { configFields } from './functions.js';

const versionsPath = (fn: string) => `/v1/functions/${seg(fn)}/versions`;

/** A version, or `$LATEST` read from the function, in the same shape. */
async function readVersion(client: Client, fn: string, version: string): Promise<VersionView> {
  if (version !== '$LATEST') return client.call<VersionView>('GET', `${versionsPath(fn)}/${version}`);
  const latest = await client.call<FunctionView>('GET', `/v1/functions/${seg(fn)}`);
  const config = Object.fromEntries(CONFIG_FIELDS.map((field) => [field, latest[field]]));
  return {
    functionName: fn,
    versionId: '$LATEST',
    description: '',
    config: config as unknown as FunctionConfigView,
    codeSha256: latest.codeSha256,
    codeSize: latest.codeSize,
    createdAt: latest.updatedAt,
  };
}

interface ConfigChange {
  field: string;
  a: unknown;
  b: unknown;
}

export function configChanges(a: FunctionConfigView, b: FunctionConfigView): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const field of CONFIG_FIELDS) {
    if (field === 'environmentVariables') continue;
    // By value: a custom runtime's command is a list.
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field]))
      changes.push({ field, a: a[field], b: b[field] });
  }
  const names = [
    ...new Set([...Object.keys(a.environmentVariables), ...Object.keys(b.environmentVariables)]),
  ].sort();
  for (const name of names) {
    const before = a.environmentVariables[name];
    const after = b.environmentVariables[name];
    if (before !== after)
      changes.push({ field: `environmentVariables.${name}`, a: before ?? null, b: after ?? null });
  }
  return changes;
}

/** Files added, removed and changed between two code packages. */
async function fileChanges(client: Client, fn: string, a: string, b: string) {
  const filesOf = async (qualifier: string) => {
    const response = await client.send('GET', `/v1/functions/${seg(fn)}/code`, { query: { qualifier } });
    return fileDigests(await response.bytes());
  };
  const [before, after] = await Promise.all([filesOf(a), filesOf(b)]);
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  return {
    added: paths.filter((p) => !before.has(p)),
    removed: paths.filter((p) => !after.has(p)),
    changed: paths.filter((p) => before.has(p) && after.has(p) && before.get(p) !== after.get(p)),
  };
}

const show = (value: unknown) => (value === null || value === undefined ? '(unset)' : JSON.stringify(value));

export const versionCommands: Group = {
  summary: 'publish, list, show, delete and compare immutable versions',
  commands: {
    publish: {
      summary: "publish $LATEST's code and configuration as the next version",
      usage:
        'usage: sluice version publish FN [--description D]\n\nexample: sluice version publish B --description "fix the rounding"',
      positionals: ['FN'],
      options: { description: { type: 'string' } },
      async run(args, ctx) {
        const client = await ctx.client();
        const fn = args.positional(0);
        const version = await client.call<VersionView>('POST', versionsPath(fn), {
          json: { description: args.string('description') ?? '' },
        });
        await printResult(
          args.json,
          version,
          () => `published version ${version.versionId} of ${fn} (code ${shortSha(version.codeSha256)})`,
        );
      },
    },
    list: listCommand({
      summary: 'list the published versions, oldest first',
      usage: 'usage: sluice version list FN\n\nexample: sluice version list B',
      positionals: ['FN'],
      path: ([fn]) => versionsPath(fn),
      key: 'versions',
      paged: true,
      text: (versions: VersionView[], [fn]) =>
        versions.length === 0
          ? `${fn} has no published version yet: "sluice version publish ${fn}"`
          : table(
              ['version', 'created', 'code', 'runtime', 'memory', 'description'],
              versions.map((v) => [
                v.versionId,
                when(v.createdAt),
                shortSha(v.codeSha256),
                v.config.runtime,
                `${v.config.memorySize} MB`,
                v.description,
              ]),
            ),
    }),
    get: {
      summary: "show a version's configuration and code digest",
      usage: 'usage: sluice version get FN V\n\nexample: sluice version get B 2',
      positionals: ['FN', 'V'],
      async run(args, ctx) {
        const client = await ctx.client();
        const version = await readVersion(
          client,
          args.positional(0),
          parseVersionArg(args.positional(1), 'V'),
        );
        await printResult(args.json, version, () =>
          fields([
            ['version', version.versionId],
            ['published', when(version.createdAt)],
            ['notes', version.description || '-'],
            ...configFields(version.config),
            ['code', `sha256 ${shortSha(version.codeSha256)} (${bytes(version.codeSize)})`],
          ]),
        );
      },
    },
    delete: {
      summary: 'delete a version no alias or stage uses (its number is never reused)',
      usage: 'usage: sluice version delete FN V\n\nexample: sluice version delete B 1',
      positionals: ['FN', 'V'],
      async run(args, ctx) {
        const client = await ctx.client();
        const fn = args.positional(0);
        const version = parseVersionArg(args.positional(1), 'V');
        if (version === '$LATEST')
          throw args.usageError('$LATEST cannot be deleted; delete the function instead');
        await client.call('DELETE', `${versionsPath(fn)}/${version}`);
        await printResult(args.json, { deleted: version }, () => `deleted version ${version} of ${fn}`);
      },
    },
    diff: {
      summary: 'the configuration differences between two versions, and whether (and which) code differs',
      usage:
        'usage: sluice version diff FN A B\n\nA and B are version numbers or $LATEST.\n\nexample: sluice version diff B 1 2',
      positionals: ['FN', 'A', 'B'],
      async run(args, ctx) {
        const client = await ctx.client();
        const fn = args.positional(0);
        const [a, b] = [parseVersionArg(args.positional(1), 'A'), parseVersionArg(args.positional(2), 'B')];
        const [va, vb] = await Promise.all([readVersion(client, fn, a), readVersion(client, fn, b)]);
        const config = configChanges(va.config, vb.config);
        const codeDiffers = va.codeSha256 !== vb.codeSha256;
        const files = codeDiffers
          ? await fileChanges(client, fn, a, b)
          : { added: [], removed: [], changed: [] };
        if (args.json) {
          printJson({
            functionName: fn,
            a,
            b,
            config,
            codeDiffers,
            codeSha256: { a: va.codeSha256, b: vb.codeSha256 },
            files,
          });
          return;
        }
        print(`${fn}: ${a} → ${b}`);
        if (config.length === 0) print('configuration: the same');
        for (const change of config) print(`  ${change.field}: ${show(change.a)} → ${show(change.b)}`);
        if (!codeDiffers) {
          print(`code: the same (sha256 ${shortSha(va.codeSha256)})`);
          return;
        }
        print(`code: differs (sha256 ${shortSha(va.codeSha256)} → ${shortSha(vb.codeSha256)})`);
        for (const path of files.added) print(`  + ${path}`);
        for (const path of files.removed) print(`  - ${path}`);
        for (const path of files.changed) print(`  ~ ${path}`);
      },
    },
  },
};
