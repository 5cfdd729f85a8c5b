import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseWeight } from '../args.js';
import { type Client, listAll, seg } from '../client.js';
import type { Command } from '../command.js';
import { type DeployConfig, readDeployConfig } from '../config-file.js';
import { DEFAULT_ALIAS, LATEST, assertAliasName } from '../../contract/domain.js';
import { ApiError, CliError } from '../errors.js';
import { bytes, describeSplit, note, percent, print, printJson, shortSha } from '../output.js';
import type { AliasSpecView, AliasView, FunctionConfigView, FunctionView, VersionView } from '../views.js';
import { getAlias, putAlias } from './aliases.js';
import { ROLLOUT_OPTIONS, rolloutRequest } from './rollouts.js';

/** What sluice.yaml asks of the configuration: the server checks it as it checks any change. */
type ConfigPatch = Partial<Record<keyof FunctionConfigView, unknown>>;

const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;

function wantedConfig(config: DeployConfig): ConfigPatch {
  const wanted: ConfigPatch = {};
  if (config.runtime !== undefined) wanted.runtime = config.runtime;
  if (config.handler !== undefined) wanted.handler = config.handler;
  if (config.memorySize !== undefined) wanted.memorySize = config.memorySize;
  if (config.timeout !== undefined) wanted.timeout = config.timeout;
  if (config.instanceConcurrency !== undefined) wanted.instanceConcurrency = config.instanceConcurrency;
  if (config.description !== undefined) wanted.description = config.description;
  if (config.network !== undefined) wanted.network = config.network;
  if (config.convention !== undefined) wanted.convention = config.convention;
  if (config.environment !== undefined) wanted.environmentVariables = config.environment;
  if (config.command !== undefined) wanted.command = config.command;
  return wanted;
}

const canonical = (value: unknown) =>
  JSON.stringify(value && typeof value === 'object' ? Object.entries(value).sort() : value);

/** The fields of the file's configuration that differ from the function's. */
function configPatch(fn: FunctionView, wanted: ConfigPatch): ConfigPatch {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (canonical(value) !== canonical(fn[key as keyof FunctionConfigView])) patch[key] = value;
  }
  return patch;
}

async function findFunction(client: Client, name: string): Promise<FunctionView | undefined> {
  try {
    return await client.call<FunctionView>('GET', `/v1/functions/${seg(name)}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'FunctionNotFound') return undefined;
    throw error;
  }
}

/** Publishes $LATEST; when nothing changed since the newest version, that version stays the new one. */
async function publish(
  client: Client,
  name: string,
  description: string,
): Promise<{ version: string; published: boolean }> {
  try {
    const version = await client.call<VersionView>('POST', `/v1/functions/${seg(name)}/versions`, {
      json: { description },
    });
    return { version: version.versionId, published: true };
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'NothingToPublish') throw error;
    const latest = (error.details as { latestVersion?: string } | undefined)?.latestVersion;
    if (latest) return { version: latest, published: false };
    const versions = await listAll<VersionView>(client, `/v1/functions/${seg(name)}/versions`, 'versions');
    const last = versions.at(-1);
    if (!last) throw error;
    return { version: last.versionId, published: false };
  }
}

/**
 * Gives `version` the share `traffic` of an alias, keeping its primary (the seeds' `scf deploy
 * --inputs.traffic=0.1`); 1 makes it the primary; an alias that does not exist is created at it.
 */
async function shiftTraffic(
  client: Client,
  fn: string,
  aliasName: string,
  version: string,
  traffic: number,
): Promise<{ alias: AliasView; changed: boolean; created: boolean }> {
  let current: AliasView | undefined;
  try {
    current = await getAlias(client, fn, aliasName);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'AliasNotFound') throw error;
  }
  if (!current) {
    const alias = await putAlias(client, fn, aliasName, { version, description: '' }, 'create');
    return { alias, changed: true, created: true };
  }
  let spec: AliasSpecView;
  if (traffic === 1) spec = { version, description: current.description };
  else {
    if (current.version === version) {
      throw new CliError(
        `version ${version} is already the primary of ${fn}/${aliasName}: move its traffic with "sluice alias update" or "sluice alias rollback"`,
      );
    }
    const old = current.canary;
    if (old && old.version !== version)
      note(`version ${version} replaces version ${old.version} as the canary of ${aliasName}`);
    const sticky = old && 'weight' in old ? old.sticky : undefined;
    spec = {
      version: current.version,
      description: current.description,
      canary: { version, weight: traffic, ...(sticky && { sticky }) },
    };
  }
  return writeIfChanged(client, fn, aliasName, current, spec);
}

/** Writes `spec` over `current` unless it routes the same; a change made since `current` was read is refused. */
async function writeIfChanged(
  client: Client,
  fn: string,
  aliasName: string,
  current: AliasView,
  spec: AliasSpecView,
): Promise<{ alias: AliasView; changed: boolean; created: boolean }> {
  if (
    JSON.stringify([spec.version, spec.canary ?? null]) ===
    JSON.stringify([current.version, current.canary ?? null])
  ) {
    return { alias: current, changed: false, created: false };
  }
  return {
    alias: await putAlias(client, fn, aliasName, spec, current.revision),
    changed: true,
    created: false,
  };
}

/** The newest published version of a function, or undefined when it has none (or does not exist yet). */
async function newestVersion(client: Client, fn: FunctionView | undefined): Promise<string | undefined> {
  if (!fn) return undefined;
  const versions = await listAll<VersionView>(client, `/v1/functions/${seg(fn.name)}/versions`, 'versions');
  return versions.at(-1)?.versionId;
}

/**
 * `scf deploy --inputs.traffic=F` (seeds 002 and 004): `$DEFAULT` keeps the newest published version as its
 * primary and gives `$LATEST`, just deployed, the share F; 1 sends all of it to `$LATEST`. Nothing is published.
 */
async function splitDefault(
  client: Client,
  fn: string,
  newest: string | undefined,
  traffic: number,
): Promise<{ alias: AliasView; changed: boolean; created: boolean }> {
  const current = await getAlias(client, fn, DEFAULT_ALIAS);
  let spec: AliasSpecView;
  if (traffic === 1 || newest === undefined) spec = { version: LATEST, description: current.description };
  else {
    const old = current.canary;
    const sticky = old && 'weight' in old ? old.sticky : undefined;
    spec = {
      version: newest,
      description: current.description,
      canary: { version: LATEST, weight: traffic, ...(sticky && { sticky }) },
    };
  }
  return writeIfChanged(client, fn, DEFAULT_ALIAS, current, spec);
}

export const deployCommand: Command = {
  summary:
    'upload a directory to $LATEST (creating the function), optionally publish and shift alias traffic',
  usage: `usage: sluice deploy [DIR] [--function NAME] [--publish] [--alias A (--traffic F | --rollout [options])]
                    [--traffic F] [--description D]

Reads DIR/sluice.yaml (or sluice.json): name, runtime, handler, memorySize, timeout, instanceConcurrency, network,
convention (fc or scf), command (a custom runtime's), description, environment and exclude. Packs DIR (leaving out .git, .sluice and the exclude patterns) and
uploads it to $LATEST, creating the function if it is new and updating the configuration that differs.

  --function NAME    the function (default: name in sluice.yaml)
  --publish          then publish a version (no change since the newest version: that version stays)
  --alias A          publish, then give the new version the share --traffic F of alias A, keeping A's
  --traffic F        primary (0.1 or 10%); --traffic 1 makes it A's primary. A new alias starts at it.
                     Without --alias, as "scf deploy --inputs.traffic=F": publish nothing, and split $DEFAULT
                     between the newest published version (1 - F) and $LATEST (F); --traffic 1 sends all of
                     $DEFAULT to $LATEST. Also written --inputs.traffic=F.
  --rollout          publish, then start a rollout of alias A to the new version (see "sluice rollout start
                     --help" for its options: --strategy, --steps, --interval, --max-error-rate …)
  --description D    the published version's description

examples:
  sluice deploy hello --publish
  sluice deploy hello --alias release --traffic 0.1
  sluice deploy hello --alias release --traffic 1
  sluice deploy hello --inputs.traffic=0.1
  sluice deploy hello --alias release --rollout --steps 10%,50% --interval 5m --max-error-rate 1%`,
  positionals: ['DIR?'],
  options: {
    function: { type: 'string' },
    publish: { type: 'boolean' },
    alias: { type: 'string' },
    traffic: { type: 'string' },
    'inputs.traffic': { type: 'string' },
    rollout: { type: 'boolean' },
    ...ROLLOUT_OPTIONS,
    description: { type: 'string' },
  },
  async run(args, ctx) {
    const dirArg = args.optionalPositional(0) ?? '.';
    const dir = resolve(dirArg);
    const aliasName = args.string('alias');
    if (args.has('traffic') && args.has('inputs.traffic'))
      throw args.usageError('--inputs.traffic is another name for --traffic: give one of them');
    const trafficFlag = args.has('inputs.traffic') ? '--inputs.traffic' : '--traffic';
    const trafficText = args.string('traffic') ?? args.string('inputs.traffic');
    const rollout = args.flag('rollout');
    if (aliasName !== undefined && (trafficText === undefined) === !rollout)
      throw args.usageError(
        "--alias needs either --traffic F (the new version's share; 1 makes it the primary) or --rollout",
      );
    if (rollout && aliasName === undefined) throw args.usageError('--rollout needs --alias A');
    if (aliasName !== undefined) {
      try {
        assertAliasName(aliasName);
      } catch (error) {
        throw args.usageError(`--alias: ${(error as Error).message}`);
      }
    }
    const splitsDefault = trafficText !== undefined && aliasName === undefined;
    if (splitsDefault && args.flag('publish'))
      throw args.usageError(
        `${trafficFlag} without --alias splits $DEFAULT between the newest version and $LATEST and publishes nothing: drop --publish, or name the alias to give a new version to`,
      );
    // Checked before anything is uploaded, so that a typo changes nothing.
    const rolloutBody = rollout ? rolloutRequest((flag) => args.string(flag), '0') : undefined;
    const traffic = trafficText === undefined ? undefined : parseWeight(trafficText, trafficFlag);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      throw new CliError(`${dirArg} is not a directory`);
    const { config, file } = await readDeployConfig(dir);
    const name = args.string('function') ?? config.name;
    if (name === undefined) {
      throw args.usageError(
        `no function name: pass --function NAME${file ? ` or set name: in ${file}` : ', or create a sluice.yaml with "sluice init"'}`,
      );
    }
    // The zip modules load only here, which keeps every other command quick to start.
    const { packDirectory } = await import('../pack.js');
    const pkg = await packDirectory(dir, config.exclude ?? []);
    const client = await ctx.client();
    const wanted = wantedConfig(config);
    const report: string[] = [];
    let fn = await findFunction(client, name);
    // $DEFAULT's primary beside $LATEST must exist before anything is uploaded, so that a refusal changes nothing.
    const newest = splitsDefault && traffic !== 1 ? await newestVersion(client, fn) : undefined;
    if (splitsDefault && traffic !== 1 && newest === undefined) {
      throw new CliError(
        `${fn ? `function ${name} has no published version` : `function ${name} does not exist`} yet, so ${DEFAULT_ALIAS} has none to keep beside ${LATEST}: publish one first (sluice deploy ${dirArg} --publish), or send all of ${DEFAULT_ALIAS} to ${LATEST} with ${trafficFlag} 1`,
      );
    }
    let created = false;
    let codeUploaded = false;
    let patch: ConfigPatch = {};
    if (!fn) {
      if (wanted.runtime === undefined || wanted.handler === undefined) {
        throw new CliError(
          `function ${name} does not exist yet, and creating it needs runtime and handler in sluice.yaml ("sluice init" writes one)`,
        );
      }
      fn = await client.call<FunctionView>('POST', '/v1/functions', {
        json: { name, ...wanted, code: { zipFile: pkg.zip.toString('base64') } },
      });
      created = codeUploaded = true;
      report.push(
        `created function ${name} (${fn.runtime}, ${fn.handler}) from ${dirArg}: ${files(pkg.files)}, ${bytes(pkg.zip.length)}, code ${shortSha(fn.codeSha256)}`,
      );
    } else {
      patch = configPatch(fn, wanted);
      if (Object.keys(patch).length > 0) {
        fn = await client.call<FunctionView>('PATCH', `/v1/functions/${seg(name)}`, { json: patch });
        report.push(`updated the configuration of ${name}: ${Object.keys(patch).join(', ')}`);
      }
      if (pkg.sha256 !== fn.codeSha256) {
        fn = await client.call<FunctionView>('PUT', `/v1/functions/${seg(name)}/code`, {
          body: pkg.zip,
          contentType: 'application/zip',
        });
        codeUploaded = true;
        report.push(
          `uploaded ${files(pkg.files)} (${bytes(pkg.zip.length)}) to ${name} $LATEST: code ${shortSha(fn.codeSha256)}`,
        );
      } else report.push(`the code of ${name} $LATEST is unchanged (${shortSha(fn.codeSha256)})`);
    }
    let published: { version: string; published: boolean } | undefined;
    if (args.flag('publish') || aliasName !== undefined) {
      published = await publish(client, name, args.string('description') ?? '');
      report.push(
        published.published
          ? `published version ${published.version}`
          : `no change since version ${published.version}: version ${published.version} stays`,
      );
    }
    let started: { id: string } | undefined;
    if (aliasName !== undefined && published && rolloutBody !== undefined) {
      started = await client.call<{ id: string }>(
        'POST',
        `/v1/functions/${seg(name)}/aliases/${seg(aliasName)}/rollouts`,
        { json: { ...rolloutBody, to: published.version } },
      );
      report.push(`started rollout ${started.id} of ${name}/${aliasName} to version ${published.version}`);
      report.push(`follow it with: sluice rollout status ${started.id}`);
    }
    let alias: { alias: AliasView; changed: boolean; created: boolean } | undefined;
    if (aliasName !== undefined && published && traffic !== undefined) {
      alias = await shiftTraffic(client, name, aliasName, published.version, traffic);
      report.push(
        `${alias.changed ? 'alias' : 'alias unchanged:'} ${name}/${aliasName}: ${describeSplit(alias.alias)}`,
      );
      if (alias.created && traffic < 1) {
        report.push(
          `(${aliasName} is new, so it starts with all its traffic on version ${published.version}, not ${percent(traffic)})`,
        );
      }
    }
    if (splitsDefault && traffic !== undefined) {
      alias = await splitDefault(client, name, newest, traffic);
      report.push(
        `${alias.changed ? 'alias' : 'alias unchanged:'} ${name}/${DEFAULT_ALIAS}: ${describeSplit(alias.alias)}`,
      );
    }
    if (args.json) {
      printJson({
        function: fn,
        created,
        configChanged: Object.keys(patch),
        codeUploaded,
        version: published ? { versionId: published.version, published: published.published } : null,
        alias: alias?.alias ?? null,
        rollout: started?.id ?? null,
      });
      return;
    }
    for (const line of report) print(line);
  },
};
