import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeConfig, sameConfig, type FunctionConfig } from './function-config.js';
import { config as baseConfig } from '../../test/support/config.js';

/** The shared fixture, with variables and a description to see them kept. */
const config = (overrides: Partial<FunctionConfig> = {}): FunctionConfig =>
  baseConfig({ environmentVariables: { A: '1', B: '2' }, description: 'd', ...overrides });

describe('normalizeConfig and sameConfig', () => {
  const scrambled = {
    convention: 'fc',
    network: 'host',
    description: 'd',
    environmentVariables: { B: '2', A: '1' },
    instanceConcurrency: 1,
    timeout: 3,
    memorySize: 128,
    handler: 'index.handler',
    runtime: 'nodejs20',
  } satisfies FunctionConfig;

  test('key order (top level and environment) is irrelevant', () => {
    assert.equal(JSON.stringify(normalizeConfig(scrambled)), JSON.stringify(normalizeConfig(config())));
    assert.equal(JSON.stringify(normalizeConfig(scrambled)), JSON.stringify(config()));
    assert.equal(sameConfig(scrambled, config()), true);
  });

  test('normalizeConfig drops anything that is not configuration', () => {
    const withExtra = { ...config(), extra: 1 } as FunctionConfig;
    assert.deepEqual(normalizeConfig(withExtra), config());
  });

  const differences: [label: string, other: FunctionConfig][] = [
    ['runtime', config({ runtime: 'python3' })],
    ['handler', config({ handler: 'main.handler' })],
    ['memorySize', config({ memorySize: 256 })],
    ['timeout', config({ timeout: 4 })],
    ['instanceConcurrency', config({ instanceConcurrency: 2 })],
    ['description', config({ description: 'e' })],
    ['an environment value', config({ environmentVariables: { A: '1', B: '3' } })],
    ['an extra variable', config({ environmentVariables: { A: '1', B: '2', C: '' } })],
    ['a missing variable', config({ environmentVariables: { A: '1' } })],
    ['a renamed variable', config({ environmentVariables: { A: '1', b: '2' } })],
  ];
  for (const [label, other] of differences) {
    test(`a different ${label} is a different configuration`, () => {
      assert.equal(sameConfig(config(), other), false);
      assert.equal(sameConfig(other, config()), false);
    });
  }
});
