import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldIssue } from '../../core/errors.js';
import {
  CONFIG_DEFAULTS,
  applyConfigPatch,
  parseConfigPatch as configPatch,
  parseNewFunction as newFunction,
  sameConfig,
  storedConfig,
  type FunctionConfig,
} from '../../core/function-config.js';
import { validator } from '../validate.js';
import { ConfigPatch, CreateFunction } from './functions.js';
import { caught, issuePaths as paths } from '../../../test/support/errors.js';
import { config as baseConfig } from '../../../test/support/config.js';
import { withOverrides } from '../../../test/support/overrides.js';

// A function's configuration as the API takes it: checked against its schema, then by the core.
const checkCreate = validator(CreateFunction);
const checkPatch = validator(ConfigPatch);
const parseNewFunction = (input: unknown) => newFunction(checkCreate(input));
const parseConfigPatch = (input: unknown) => configPatch(checkPatch(input));

/** A valid creation request, with some fields replaced (or removed when given `undefined`). */
function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides({ name: 'fn', runtime: 'nodejs20', handler: 'index.handler' }, overrides);
}

function show(value: unknown): string {
  return value === undefined || Number.isNaN(value) ? String(value) : JSON.stringify(value);
}

/** The shared fixture, with variables and a description to see them kept. */
const config = (overrides: Partial<FunctionConfig> = {}): FunctionConfig =>
  baseConfig({ environmentVariables: { A: '1', B: '2' }, description: 'd', ...overrides });

describe('parseNewFunction', () => {
  test('fills in the defaults', () => {
    assert.deepEqual(parseNewFunction(request()), {
      name: 'fn',
      config: {
        runtime: 'nodejs20',
        handler: 'index.handler',
        memorySize: 128,
        timeout: 3,
        instanceConcurrency: 1,
        environmentVariables: {},
        description: '',
        network: 'host',
        convention: 'fc',
      },
    });
  });

  test('a returned configuration shares no object with the defaults', () => {
    const first = parseNewFunction(request());
    first.config.environmentVariables.X = 'y';
    assert.deepEqual(CONFIG_DEFAULTS.environmentVariables, {});
    assert.deepEqual(parseNewFunction(request()).config.environmentVariables, {});
  });

  test('keeps every given field, with the environment in a canonical key order', () => {
    const parsed = parseNewFunction(
      request({
        runtime: 'python3',
        handler: 'app.main',
        memorySize: 512,
        timeout: 60,
        instanceConcurrency: 10,
        environmentVariables: { Z: 'z', A: 'a', M: 'm' },
        description: 'hello',
        network: 'none',
        convention: 'scf',
      }),
    );
    assert.deepEqual(parsed.config, {
      runtime: 'python3',
      handler: 'app.main',
      memorySize: 512,
      timeout: 60,
      instanceConcurrency: 10,
      environmentVariables: { A: 'a', M: 'm', Z: 'z' },
      description: 'hello',
      network: 'none',
      convention: 'scf',
    });
    assert.deepEqual(Object.keys(parsed.config.environmentVariables), ['A', 'M', 'Z']);
  });

  test('network is host or none, nothing else', () => {
    for (const network of ['bridge', 'HOST', '', null, 1, true, ['none']])
      assert.deepEqual(
        paths(caught(() => parseNewFunction(request({ network })))),
        ['network'],
        String(network),
      );
    assert.deepEqual(paths(caught(() => parseConfigPatch({ network: 'any' }))), ['network']);
    assert.deepEqual(parseConfigPatch({ network: 'none' }), { network: 'none' });
  });

  test('convention is fc or scf, nothing else', () => {
    for (const convention of ['SCF', 'lambda', '', null, 1, ['scf']])
      assert.deepEqual(
        paths(caught(() => parseNewFunction(request({ convention })))),
        ['convention'],
        String(convention),
      );
    assert.deepEqual(parseConfigPatch({ convention: 'scf' }), { convention: 'scf' });
  });

  test('a configuration stored before the convention field existed reads as convention fc', () => {
    const before: Partial<FunctionConfig> = config({ convention: 'fc' });
    delete before.convention;
    assert.deepEqual(storedConfig(before as FunctionConfig), config());
  });

  test('a configuration stored before the network field existed reads as network host', () => {
    const before: Partial<FunctionConfig> = config();
    delete before.network;
    assert.deepEqual(storedConfig(before as FunctionConfig), config());
  });

  test('code given with a new function is not copied into its configuration', () => {
    const parsed = parseNewFunction(request({ code: { zipFile: 'UEsDBA==' } }));
    assert.equal('code' in parsed.config, false);
    assert.deepEqual(paths(caught(() => parseNewFunction(request({ code: 'UEsDBA==' })))), ['code']);
  });

  const notObjects: unknown[] = [null, undefined, 'fn', 42, [], [request()], true];
  for (const input of notObjects) {
    test(`refuses ${show(input)} as a whole`, () => {
      const error = caught(() => parseNewFunction(input));
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(paths(error), ['']);
    });
  }

  for (const field of ['name', 'runtime', 'handler']) {
    test(`requires ${field}`, () => {
      const error = caught(() => parseNewFunction(request({ [field]: undefined })));
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(paths(error), [field]);
      assert.match(error.message, new RegExp(`${field}: is required`));
    });
  }

  test('reports every missing field at once', () => {
    assert.deepEqual(paths(caught(() => parseNewFunction({}))), ['name', 'runtime', 'handler']);
  });

  test('refuses unknown fields, each with its path', () => {
    const error = caught(() => parseNewFunction(request({ memory: 128, Timeout: 3 })));
    assert.deepEqual(paths(error).sort(), ['Timeout', 'memory']);
    assert.ok(
      error.details && (error.details as FieldIssue[])[0]?.message.includes('memorySize'),
      'lists known fields',
    );
  });

  test('collects ALL problems: three bad fields give three details with their paths', () => {
    const error = caught(() => parseNewFunction(request({ memorySize: 100, timeout: 0, description: 7 })));
    assert.equal(error.code, 'InvalidArgument');
    assert.equal(error.status, 400);
    assert.deepEqual(paths(error), ['memorySize', 'timeout', 'description']);
    assert.match(error.message, /memorySize/);
    assert.match(error.message, /and 2 more/);
  });

  test('collects problems of every kind together', () => {
    const error = caught(() =>
      parseNewFunction({ name: '1fn', runtime: 'java', bogus: true, environmentVariables: { FC_X: 1 } }),
    );
    assert.deepEqual(paths(error).sort(), [
      'bogus',
      'environmentVariables.FC_X',
      'environmentVariables.FC_X',
      'handler',
      'name',
      'runtime',
    ]);
  });
});

describe('configuration fields', () => {
  const table: [field: string, value: unknown, ok: boolean][] = [
    ['name', 'f'.repeat(64), true],
    ['name', 'f'.repeat(65), false],
    ['name', '_fn', true],
    ['name', '1fn', false],
    ['name', '-fn', false],
    ['name', 'fñ', false],
    ['name', '', false],
    ['name', 7, false],
    ['name', null, false],

    ['runtime', 'nodejs20', true],
    ['runtime', 'python3', true],
    ['runtime', 'php8', false],
    ['runtime', 'custom', true],
    ['runtime', 'php8.2', true],
    ['runtime', 'go1', false],
    ['runtime', 'NODEJS20', false],
    ['runtime', '', false],
    ['runtime', 20, false],
    ['runtime', null, false],

    ['handler', 'index.handler', true],
    ['handler', 'src/index.handler', true],
    ['handler', 'a/b.c.handler', true],
    ['handler', 'my-file.main', true],
    ['handler', 'index.$handler', true],
    ['handler', 'index._h1', true],
    ['handler', 'x'.repeat(120) + '.handler', true],
    ['handler', 'x'.repeat(121) + '.handler', false],
    ['handler', '../x.handler', false],
    ['handler', 'a/../x.handler', false],
    ['handler', 'a/..x.handler', false],
    ['handler', '/abs.handler', false],
    ['handler', './index.handler', false],
    ['handler', 'a//b.handler', false],
    ['handler', 'a/.handler', false],
    ['handler', 'a/.hidden.handler', false],
    ['handler', 'index', false],
    ['handler', 'index.', false],
    ['handler', '.handler', false],
    ['handler', 'index..handler', false],
    ['handler', 'index.1handler', false],
    ['handler', 'index.my-handler', false],
    ['handler', 'in dex.handler', false],
    ['handler', 'a\\b.handler', false],
    ['handler', 'index.handler\n', false],
    ['handler', '', false],
    ['handler', 1, false],

    ['memorySize', 64, true],
    ['memorySize', 128, true],
    ['memorySize', 3008 + 64, true],
    ['memorySize', 16384, true],
    ['memorySize', 0, false],
    ['memorySize', 63, false],
    ['memorySize', 65, false],
    ['memorySize', 100, false],
    ['memorySize', -64, false],
    ['memorySize', 16384 + 64, false],
    ['memorySize', 128.5, false],
    ['memorySize', '128', false],
    ['memorySize', Number.NaN, false],
    ['memorySize', null, false],

    ['timeout', 1, true],
    ['timeout', 900, true],
    ['timeout', 0, false],
    ['timeout', 901, false],
    ['timeout', 1.5, false],
    ['timeout', -1, false],
    ['timeout', '3', false],

    ['instanceConcurrency', 1, true],
    ['instanceConcurrency', 200, true],
    ['instanceConcurrency', 0, false],
    ['instanceConcurrency', 201, false],
    ['instanceConcurrency', 2.5, false],
    ['instanceConcurrency', true, false],

    ['description', '', true],
    ['description', 'd'.repeat(256), true],
    ['description', 'd'.repeat(257), false],
    ['description', 5, false],
    ['description', null, false],
    ['description', ['x'], false],

    ['environmentVariables', {}, true],
    ['environmentVariables', { A: '1', _b: '', c9: 'x y', FC: 'x', SLUICEX: 'x' }, true],
    ['environmentVariables', [], false],
    ['environmentVariables', 'A=1', false],
    ['environmentVariables', null, false],
  ];
  for (const [field, value, ok] of table) {
    const shown =
      typeof value === 'string' && value.length > 20 ? `${value.slice(0, 8)}…(${value.length})` : value;
    test(`${field} = ${show(shown)} is ${ok ? 'accepted' : 'refused'}`, () => {
      if (ok) {
        const parsed = parseNewFunction(request({ [field]: value }));
        assert.deepEqual(
          field === 'name' ? parsed.name : parsed.config[field as keyof FunctionConfig],
          value,
        );
        if (field !== 'name') assert.deepEqual(parseConfigPatch({ [field]: value }), { [field]: value });
      } else {
        const error = caught(() => parseNewFunction(request({ [field]: value })));
        assert.equal(error.code, 'InvalidArgument');
        assert.deepEqual(paths(error), [field]);
        if (field !== 'name')
          assert.deepEqual(paths(caught(() => parseConfigPatch({ [field]: value }))), [field]);
      }
    });
  }
});

describe('environment variables', () => {
  const bad: [env: Record<string, unknown>, expectedPaths: string[]][] = [
    [{ '1A': 'x' }, ['environmentVariables.1A']],
    [{ 'A-B': 'x' }, ['environmentVariables.A-B']],
    [{ 'A B': 'x' }, ['environmentVariables.A B']],
    [{ 'A=B': 'x' }, ['environmentVariables.A=B']],
    [{ É: 'x' }, ['environmentVariables.É']],
    [{ '': 'x' }, ['environmentVariables.']],
    [{ SLUICE_TOKEN: 'x' }, ['environmentVariables.SLUICE_TOKEN']],
    [{ SLUICE_: 'x' }, ['environmentVariables.SLUICE_']],
    [{ FC_FUNC_NAME: 'x' }, ['environmentVariables.FC_FUNC_NAME']],
    [{ A: 1 }, ['environmentVariables.A']],
    [{ A: true }, ['environmentVariables.A']],
    [{ A: null }, ['environmentVariables.A']],
    [{ A: { v: 'x' } }, ['environmentVariables.A']],
    [{ A: ['x'] }, ['environmentVariables.A']],
    [{ OK: 'x', B: 2, C: 3 }, ['environmentVariables.B', 'environmentVariables.C']],
    [{ FC_X: 1 }, ['environmentVariables.FC_X', 'environmentVariables.FC_X']],
  ];
  for (const [env, expected] of bad) {
    test(`refuses ${JSON.stringify(env)}`, () => {
      const error = caught(() => parseNewFunction(request({ environmentVariables: env })));
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(paths(error), expected);
    });
  }

  test('a reserved name is reported as reserved', () => {
    const error = caught(() => parseNewFunction(request({ environmentVariables: { SLUICE_X: 'x' } })));
    assert.match((error.details as FieldIssue[])[0]?.message ?? '', /reserved/);
  });

  // Names and values together, counted in UTF-8 bytes, at most 4096.
  const sizes: [label: string, env: Record<string, string>, ok: boolean][] = [
    ['4096 bytes in one variable', { A: 'x'.repeat(4095) }, true],
    ['4097 bytes in one variable', { A: 'x'.repeat(4096) }, false],
    ['4096 bytes over two variables', { A: 'x'.repeat(2047), B: 'x'.repeat(2047) }, true],
    ['4097 bytes over two variables', { A: 'x'.repeat(2047), B: 'x'.repeat(2048) }, false],
    ['4097 UTF-8 bytes in 2049 characters', { A: 'é'.repeat(2048) }, false],
    ['4095 UTF-8 bytes', { A: 'é'.repeat(2047) }, true],
  ];
  for (const [label, env, ok] of sizes) {
    test(`${label} is ${ok ? 'accepted' : 'refused'}`, () => {
      if (ok) {
        assert.deepEqual(
          parseNewFunction(request({ environmentVariables: env })).config.environmentVariables,
          env,
        );
        return;
      }
      const error = caught(() => parseNewFunction(request({ environmentVariables: env })));
      assert.deepEqual(paths(error), ['environmentVariables']);
      assert.match(error.message, /4096/);
    });
  }

  test('a variable named __proto__ is kept, not dropped by normalization', () => {
    const env = JSON.parse('{"__proto__":"x","A":"1"}') as Record<string, string>;
    const parsed = parseNewFunction(request({ environmentVariables: env }));
    assert.deepEqual(Object.keys(parsed.config.environmentVariables), ['A', '__proto__']);
    assert.equal(Object.getPrototypeOf(parsed.config.environmentVariables), Object.prototype);
    assert.equal(JSON.stringify(parsed.config.environmentVariables), '{"A":"1","__proto__":"x"}');
    assert.equal(sameConfig(config({ environmentVariables: { A: '1' } }), parsed.config), false);
  });
});

describe('parseConfigPatch', () => {
  test('returns only the named fields', () => {
    assert.deepEqual(parseConfigPatch({ timeout: 10 }), { timeout: 10 });
    assert.deepEqual(parseConfigPatch({ description: '', memorySize: 256 }), {
      description: '',
      memorySize: 256,
    });
  });

  test('refuses an empty patch', () => {
    const error = caught(() => parseConfigPatch({}));
    assert.equal(error.code, 'InvalidArgument');
    assert.deepEqual(paths(error), ['']);
  });

  const bad: [input: unknown, expected: string[]][] = [
    [null, ['']],
    ['timeout=3', ['']],
    [[{ timeout: 3 }], ['']],
    [{ name: 'other' }, ['name']],
    [{ code: 'x' }, ['code']],
    [{ timeout: 3, Timeout: 3 }, ['Timeout']],
    [
      { timeout: 0, memorySize: 1, handler: 'x', runtime: 'go' },
      ['runtime', 'handler', 'memorySize', 'timeout'],
    ],
    [
      { environmentVariables: { FC_A: 'x', 'B-C': 'y' } },
      ['environmentVariables.FC_A', 'environmentVariables.B-C'],
    ],
  ];
  for (const [input, expected] of bad) {
    test(`refuses ${JSON.stringify(input)} at ${expected.join(', ')}`, () => {
      const error = caught(() => parseConfigPatch(input));
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(paths(error), expected);
    });
  }

  test('applyConfigPatch changes the named fields, replaces the environment whole and normalizes', () => {
    const patched = applyConfigPatch(
      config(),
      parseConfigPatch({ timeout: 30, environmentVariables: { Z: '1', C: '2' } }),
    );
    assert.deepEqual(patched, config({ timeout: 30, environmentVariables: { C: '2', Z: '1' } }));
    assert.deepEqual(Object.keys(patched.environmentVariables), ['C', 'Z']);
  });
});
describe("a configuration fits its runtime: the handler's form, one invocation at a time", () => {
  const table: [overrides: Record<string, unknown>, refusedAt: string[]][] = [
    [{ runtime: 'csharp', handler: 'Desktop::Desktop.App::Handler' }, []],
    [{ runtime: 'csharp', handler: 'My.Lib::A.B.Outer+Inner::Run' }, []],
    [{ runtime: 'csharp', handler: 'index.handler' }, ['handler']],
    [{ runtime: 'csharp', handler: 'Desktop::App' }, ['handler']],
    [{ runtime: 'csharp', handler: '::Desktop.App::Handler' }, ['handler']],
    [{ runtime: 'csharp', handler: 'Desktop::Desktop.App::Handler::X' }, ['handler']],
    [{ runtime: 'nodejs20', handler: 'Desktop::Desktop.App::Handler' }, ['handler']],
    [{ runtime: 'python3', instanceConcurrency: 10 }, []],
    [{ runtime: 'custom', instanceConcurrency: 10 }, []],
    [{ runtime: 'php8.2', instanceConcurrency: 1 }, []],
    [{ runtime: 'php8.2', instanceConcurrency: 2 }, ['instanceConcurrency']],
    [{ runtime: 'csharp', handler: 'A::B.C::D', instanceConcurrency: 2 }, ['instanceConcurrency']],
  ];
  for (const [overrides, refusedAt] of table) {
    test(`${JSON.stringify(overrides)} is ${refusedAt.length === 0 ? 'accepted' : `refused at ${refusedAt.join(', ')}`}`, () => {
      if (refusedAt.length === 0) {
        assert.equal(parseNewFunction(request(overrides)).config.runtime, overrides.runtime);
        return;
      }
      const created = caught(() => parseNewFunction(request(overrides)));
      assert.deepEqual(paths(created), refusedAt);
      const patched = caught(() => applyConfigPatch(config(), parseConfigPatch(overrides)));
      assert.equal(patched.code, 'InvalidArgument');
      assert.deepEqual(paths(patched), refusedAt);
    });
  }

  test("a command is a custom runtime's, a list of strings; an empty one is none", () => {
    const custom = { runtime: 'custom', command: ['python3', '-u', 'server.py'] };
    assert.deepEqual(parseNewFunction(request(custom)).config.command, custom.command);
    assert.equal('command' in parseNewFunction(request({ runtime: 'custom', command: [] })).config, false);
    const table: [unknown, string[]][] = [
      ['python3 server.py', ['command']],
      [['python3', 7], ['command[1]']],
      [[''], ['command[0]']],
      [['x'.repeat(1025)], ['command[0]']],
      [['a\0b'], ['command[0]']],
      [Array<string>(33).fill('x'), ['command']],
    ];
    for (const [command, at] of table)
      assert.deepEqual(paths(caught(() => parseNewFunction(request({ runtime: 'custom', command })))), at);
    const python = caught(() => parseNewFunction(request({ runtime: 'python3', command: ['python3'] })));
    assert.deepEqual(paths(python), ['command']);
    assert.match(python.message, /only a custom runtime starts a command, not python3/);
    const withCommand = applyConfigPatch(config({ runtime: 'custom' }), { command: ['./serve'] });
    assert.deepEqual(withCommand.command, ['./serve']);
    assert.equal(
      'command' in applyConfigPatch(withCommand, { command: [] }),
      false,
      'an empty list removes it',
    );
  });

  test('the scf convention is for Node.js and Python handlers, on create and on update', () => {
    for (const runtime of ['nodejs20', 'python3'] as const)
      assert.equal(parseNewFunction(request({ runtime, convention: 'scf' })).config.convention, 'scf');
    for (const runtime of ['php8.2', 'custom'] as const) {
      const refused = caught(() => parseNewFunction(request({ runtime, convention: 'scf' })));
      assert.deepEqual(paths(refused), ['convention'], runtime);
      assert.match(refused.message, new RegExp(`${runtime.replace('.', '\\.')} takes fc only`));
    }
    const scf = applyConfigPatch(config(), { convention: 'scf' });
    assert.equal(scf.convention, 'scf');
    assert.deepEqual(paths(caught(() => applyConfigPatch(scf, { runtime: 'php8.2' }))), ['convention']);
  });

  test('the refusal of concurrency says why', () => {
    const error = caught(() => parseNewFunction(request({ runtime: 'php8.2', instanceConcurrency: 4 })));
    assert.match(
      error.message,
      /instanceConcurrency: must be 1 for php8\.2, whose instances run one invocation at a time/,
    );
  });
});
