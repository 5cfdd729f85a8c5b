import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAliasSpec } from '../core/alias.js';
import type { AliasRecord } from '../core/model.js';
import { isSluiceError } from '../core/errors.js';
import { config } from '../../test/support/config.js';
import type { ScfRoutingConfig } from '../contract/schemas/scf.js';
import { configPatch, newAliasInput, newFunctionInput, scfAlias, scfFunction } from './wire.js';

const record = (spec: AliasRecord['spec']): AliasRecord => ({
  functionName: 'B',
  name: 'prepub',
  spec,
  revision: 1,
  createdAt: '2024-05-01T12:00:00.000Z',
  updatedAt: '2024-05-01T12:30:00.000Z',
});

/** An alias written through SCF's wire and read back through it. */
const roundTrip = (routing?: ScfRoutingConfig) =>
  scfAlias(
    record(
      parseAliasSpec(
        newAliasInput({
          FunctionName: 'B',
          Name: 'prepub',
          FunctionVersion: '3',
          ...(routing && { RoutingConfig: routing }),
        }),
      ),
    ),
  ).RoutingConfig;

function invalidAt(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(isSluiceError(error) && error.code === 'InvalidArgument', String(error));
    return (error.details as readonly { path: string }[]).map((d) => d.path);
  }
  assert.fail('not refused');
}

describe("SCF's RoutingConfig and an alias's canary", () => {
  test('weights and rules read back as they were written', () => {
    const weights = { AdditionalVersionWeights: [{ Version: '4', Weight: 0.25 }], AddtionVersionMatchs: [] };
    assert.deepEqual(roundTrip(weights), weights);
    const rules = {
      AdditionalVersionWeights: [],
      AddtionVersionMatchs: [
        { Version: '4', Key: 'invoke.headers.User', Method: 'exact' as const, Expression: 'Bob' },
        { Version: '4', Key: 'invoke.headers.Uid', Method: 'range' as const, Expression: '[1,100)' },
      ],
    };
    assert.deepEqual(roundTrip(rules), rules);
    assert.deepEqual(roundTrip(undefined), { AdditionalVersionWeights: [], AddtionVersionMatchs: [] });
  });

  test('rules become header conditions any of which routes to the canary', () => {
    const spec = parseAliasSpec(
      newAliasInput({
        FunctionName: 'B',
        Name: 'prepub',
        FunctionVersion: '3',
        RoutingConfig: {
          AddtionVersionMatchs: [
            { Version: '4', Key: 'invoke.headers.User', Method: 'exact', Expression: 'Bob' },
          ],
        },
      }),
    );
    assert.deepEqual(spec.canary, {
      version: 4,
      match: 'any',
      rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }],
    });
  });

  test('both kinds at once, two versions, or a range that is no interval are refused', () => {
    const input = (RoutingConfig: ScfRoutingConfig) => () =>
      parseAliasSpec(newAliasInput({ FunctionName: 'B', Name: 'p', FunctionVersion: '3', RoutingConfig }));
    const match = (Version: string, Expression = 'Bob', Method: 'exact' | 'range' = 'exact') => ({
      Version,
      Key: 'invoke.headers.User',
      Method,
      Expression,
    });
    assert.deepEqual(
      invalidAt(
        input({
          AdditionalVersionWeights: [{ Version: '2', Weight: 0.1 }],
          AddtionVersionMatchs: [match('4')],
        }),
      ),
      ['RoutingConfig'],
    );
    assert.deepEqual(invalidAt(input({ AddtionVersionMatchs: [match('4'), match('2')] })), [
      'RoutingConfig.AddtionVersionMatchs[1].Version',
    ]);
    assert.deepEqual(invalidAt(input({ AddtionVersionMatchs: [match('4', '[5,1)', 'range')] })), [
      'canary.rules[0].value',
    ]);
  });

  test('a canary SCF cannot express reads back as none rather than as something else', () => {
    const spec = parseAliasSpec({
      version: '3',
      canary: {
        version: '4',
        match: 'all',
        rules: [
          { source: 'header', name: 'User', op: '=', value: 'Bob' },
          { source: 'cookie', name: 'beta', op: '=', value: '1' },
        ],
      },
    });
    assert.deepEqual(scfAlias(record(spec)).RoutingConfig, {
      AdditionalVersionWeights: [],
      AddtionVersionMatchs: [],
    });
  });
});

describe("SCF's functions", () => {
  test('Node.js and Python functions are called in SCF’s way, with its defaults and names', () => {
    assert.deepEqual(newFunctionInput({ FunctionName: 'B', Code: { ZipFile: '' } }), {
      name: 'B',
      runtime: 'python3',
      handler: 'index.main_handler',
      convention: 'scf',
    });
    const php = newFunctionInput({
      FunctionName: 'P',
      Code: { ZipFile: '' },
      Runtime: 'Php8.0',
      Handler: 'index.main',
      Environment: { Variables: [{ Key: 'A', Value: '1' }] },
    });
    assert.deepEqual(php, {
      name: 'P',
      runtime: 'php8.2',
      handler: 'index.main',
      convention: 'fc',
      environmentVariables: { A: '1' },
    });
  });

  test('a variable given twice is refused at its place', () => {
    assert.deepEqual(
      invalidAt(() =>
        configPatch({
          FunctionName: 'B',
          Environment: {
            Variables: [
              { Key: 'A', Value: '1' },
              { Key: 'A', Value: '2' },
            ],
          },
        }),
      ),
      ['Environment.Variables[1].Key'],
    );
  });

  test('reads back with SCF’s names, times and environment', () => {
    const fn = {
      name: 'B',
      config: config({ runtime: 'nodejs20', environmentVariables: { A: '1' } }),
      trigger: { authType: 'token' as const },
      code: { sha256: 'ab', size: 10 },
      createdAt: '2024-05-01T12:00:00.000Z',
      updatedAt: '2024-05-02T08:30:00.000Z',
    };
    const view = scfFunction(fn, '$LATEST');
    assert.equal(view.Runtime, 'Nodejs18.15');
    assert.deepEqual(view.Environment, { Variables: [{ Key: 'A', Value: '1' }] });
    assert.equal(view.AddTime, '2024-05-01 12:00:00');
    assert.equal(view.ModTime, '2024-05-02 08:30:00');
  });
});
