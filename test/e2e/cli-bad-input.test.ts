import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { runSluice, type CliRun } from '../support/cli.js';

// Every mistake a person can make on the command line ends in one line on stderr, `sluice: …`, never a stack
// trace, and a non-zero exit: 2 for the command line itself, 1 for what the server or the network refused.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let work: string;

function sluice(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const all: Record<string, string | undefined> = {
    ...process.env,
    SLUICE_SERVER: server.url,
    SLUICE_TOKEN: server.token,
    ...env,
  };
  const merged = Object.fromEntries(
    Object.entries(all).filter(
      ([key, value]) => value !== undefined && key !== 'SLUICE_TOKEN_FILE' && key !== 'SLUICE_URL',
    ),
  );
  return runSluice(args, work, merged);
}

/** Runs a command that must fail with `code` and one line on stderr matching `pattern`. */
async function fails(
  args: string[],
  code: number,
  pattern: RegExp,
  env?: Record<string, string | undefined>,
) {
  const run = await sluice(args, env);
  assert.equal(run.code, code, `sluice ${args.join(' ')} exited ${run.code}:\n${run.stderr}${run.stdout}`);
  const lines = run.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, not:\n${run.stderr}`);
  const line = lines[0] as string;
  assert.match(line, /^sluice: /);
  assert.doesNotMatch(line, /\n\s+at |Error:/);
  assert.match(line, pattern);
  return line;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) =>
    probe.close(() => {
      resolve();
    }),
  );
  return port;
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-bad-'));
  const init = await sluice(['init', join(work, 'F')]);
  assert.equal(init.code, 0, init.stderr);
  for (const n of [1, 2]) {
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(work, 'F', 'index.js'), `// ${n}\n`);
    const deploy = await sluice(['deploy', join(work, 'F'), '--publish']);
    assert.equal(deploy.code, 0, deploy.stderr);
  }
  assert.equal((await sluice(['alias', 'create', 'F', 'live', '--version', '1'])).code, 0);
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

describe('usage errors exit 2 with a hint', () => {
  test('unknown flag', async () => {
    await fails(['alias', 'list', 'F', '--nope'], 2, /unknown option --nope; see "sluice alias list --help"/);
    await fails(['deploy', '--force'], 2, /unknown option --force/);
  });

  test('unknown command, with a suggestion', async () => {
    await fails(['frobnicate'], 2, /unknown command "frobnicate"; run "sluice --help"/);
    await fails(['alais', 'list', 'F'], 2, /did you mean "alias"\?/);
    await fails(['alias', 'remove', 'F', 'live'], 2, /unknown command "alias remove"/);
    await fails(['alias'], 2, /missing a command after "alias": create, update/);
  });

  test('missing argument', async () => {
    await fails(['alias', 'create', 'F'], 2, /missing ALIAS; see "sluice alias create --help"/);
    await fails(['alias', 'create', 'F', 'x'], 2, /missing --version/);
    await fails(['invoke'], 2, /missing FN/);
    await fails(['version', 'diff', 'F', '1'], 2, /missing B/);
    await fails(['alias', 'create', 'F', 'x', '--version'], 2, /--version needs a value/);
    await fails(['deploy', join(work, 'F'), '--alias', 'live'], 2, /--alias needs either --traffic/);
    await fails(['alias', 'create', 'F', 'x', '--version', ''], 2, /did the shell expand \$LATEST\?/);
  });

  test('bad weights: 1.5, -1, abc, and 30 without %', async () => {
    const create = ['alias', 'create', 'F', 'x', '--version', '1', '--canary', '2', '--weight'];
    await fails(
      [...create, '1.5'],
      2,
      /--weight takes a fraction from 0 to 1 \(0\.3\) or a percentage \(30%\), not 1\.5/,
    );
    await fails([...create, '-1'], 2, /--weight takes a fraction .* not "-1"/);
    await fails(
      ['alias', 'create', 'F', 'x', '--version', '1', '--canary', '2', '--weight=-1'],
      2,
      /not "-1"/,
    );
    await fails([...create, 'abc'], 2, /not "abc"/);
    await fails([...create, '30'], 2, /did you mean 30%\?/);
    await fails(['alias', 'update', 'F', 'live', '--canary', '2', '--weight', '150%'], 2, /not 150%/);
    await fails(
      ['deploy', join(work, 'F'), '--alias', 'live', '--traffic', '1.5'],
      2,
      /--traffic takes a fraction/,
    );
    // Nothing was written.
    await fails(['alias', 'get', 'F', 'x'], 1, /AliasNotFound/);
  });

  test('malformed rules point at the part that is wrong', async () => {
    const create = ['alias', 'create', 'F', 'x', '--version', '1', '--canary', '2', '--rule'];
    await fails([...create, 'User = Bob'], 2, /--rule "User = Bob": expected SOURCE:NAME OP VALUE/);
    await fails([...create, 'hdr:User = Bob'], 2, /unknown source "hdr"/);
    await fails([...create, 'header:User ~ Bob'], 2, /unknown operator "~"/);
    await fails([...create, 'header:User ='], 2, /missing a value after "="/);
    await fails([...create, 'key:age > old'], 2, /"old" is not a number/);
    await fails([...create, 'query:age range [1,100'], 2, /not a non-empty interval/);
    await fails([...create, 'header:User = Bob', '--weight', '0.1'], 2, /--weight or --rule, not both/);
    await fails(
      ['alias', 'create', 'F', 'x', '--version', '1', '--canary', '2'],
      2,
      /--canary needs --weight F or --rule/,
    );
  });

  test('bad routing key and pairs', async () => {
    await fails(['invoke', 'F', '--routing-key', '{bad'], 2, /--routing-key takes a JSON object of strings/);
    await fails(['invoke', 'F', '--routing-key', '{"n":1}'], 2, /the value of "n" must be a string/);
    await fails(['explain', 'F', 'live', '--header', 'User'], 2, /--header takes NAME=VALUE/);
  });
});

describe('failures the server or the network reports exit 1', () => {
  test('unreachable server: the message names the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await fails(
      ['function', 'list'],
      1,
      new RegExp(`cannot reach the Sluice server at ${url} \\(ECONNREFUSED\\)`),
      {
        SLUICE_SERVER: url,
      },
    );
    await fails(['alias', 'list', 'F', '--server', url], 1, /cannot reach/);
    await fails(['alias', 'list', 'F', '--server', 'not a url'], 2, /--server takes a URL/);
  });

  test('wrong or missing token: the message says how to pass one', async () => {
    await fails(
      ['function', 'list'],
      1,
      /Unauthorized: .*SLUICE_TOKEN was refused: pass the right one with --token-file or SLUICE_TOKEN/,
      { SLUICE_TOKEN: 'wrong' },
    );
    await fails(['function', 'list'], 1, /Unauthorized: .*pass --token-file, set SLUICE_TOKEN/, {
      SLUICE_TOKEN: undefined,
    });
    await fails(
      ['function', 'list', '--token-file', join(work, 'nope')],
      1,
      /cannot read the token file .*ENOENT/,
    );
  });

  test('unknown function, alias or version: the message lists what exists', async () => {
    await fails(
      ['alias', 'get', 'F', 'nope'],
      1,
      /AliasNotFound: function F has no alias nope \(aliases of F: \$DEFAULT, live\)/,
    );
    await fails(['invoke', 'G'], 1, /FunctionNotFound: .*\(functions: F\)/);
    await fails(['version', 'get', 'F', '9'], 1, /VersionNotFound: .*\(versions of F: 1, 2\)/);
  });

  test('API errors print their code and message', async () => {
    await fails(['version', 'publish', 'F'], 1, /^sluice: NothingToPublish: /);
    await fails(['version', 'delete', 'F', '1'], 1, /^sluice: VersionInUse: /);
    await fails(['alias', 'delete', 'F', '$DEFAULT'], 1, /^sluice: DefaultAliasProtected: /);
    await fails(['alias', 'rollback', 'F', 'live', '--to-primary'], 1, /^sluice: NothingToRollBack: /);
  });

  test('deploy of a directory that is not one, or without a name', async () => {
    await fails(['deploy', join(work, 'missing')], 1, /is not a directory/);
    await fails(['deploy', work], 2, /no function name: pass --function NAME/);
  });
});

test('every command answers --help with an example, exit 0', async () => {
  const commands = [
    'init',
    'deploy',
    'invoke',
    'explain',
    'logs',
    'metrics',
    'function list',
    'function get',
    'function delete',
    'function trigger',
    'version publish',
    'version list',
    'version get',
    'version delete',
    'version diff',
    'alias create',
    'alias update',
    'alias promote',
    'alias list',
    'alias get',
    'alias delete',
    'alias history',
    'alias rollback',
    'api create',
    'api list',
    'api get',
    'api delete',
    'api route add',
    'api route remove',
    'api stage set',
    'api stage list',
    'api stage get',
    'api stage delete',
    'api stage history',
  ];
  for (const command of commands) {
    const run = await sluice([...command.split(' '), '--help']);
    assert.equal(run.code, 0, command);
    assert.match(run.stdout, new RegExp(`^usage: sluice ${command}`), command);
    assert.match(run.stdout, /example/, command);
  }
  for (const group of ['', 'alias', 'version', 'function', 'api', 'api stage']) {
    const run = await sluice([...group.split(' ').filter(Boolean), '--help']);
    assert.equal(run.code, 0, group);
    assert.match(run.stdout, /commands:/, group);
  }
});
