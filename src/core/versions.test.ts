import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FunctionConfig } from './function-config.js';
import type { FunctionRecord, VersionRecord } from './model.js';
import { planPublish } from './versions.js';
import { caught } from '../../test/support/errors.js';
import { config as baseConfig } from '../../test/support/config.js';

const NOW = '2024-06-01T12:00:00.000Z';
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

const config = (overrides: Partial<FunctionConfig> = {}): FunctionConfig =>
  baseConfig({ environmentVariables: { A: '1', B: '2' }, ...overrides });

function latest(sha = SHA_A, cfg = config()): FunctionRecord {
  return {
    name: 'fn',
    config: cfg,
    trigger: { authType: 'token' },
    code: { sha256: sha, size: 100 },
    createdAt: NOW,
    updatedAt: NOW,
  };
}

function published(version: number, sha = SHA_A, cfg = config()): VersionRecord {
  return {
    functionName: 'fn',
    version,
    description: '',
    config: cfg,
    code: { sha256: sha, size: 100 },
    createdAt: NOW,
  };
}

describe('planPublish', () => {
  const table: [
    label: string,
    head: FunctionRecord,
    newest: VersionRecord | undefined,
    highestEverIssued: number,
    expected: number | 'NothingToPublish',
  ][] = [
    ['the first version', latest(), undefined, 0, 1],
    ['after every version was deleted: numbers are not reused', latest(), undefined, 5, 6],
    ['nothing changed', latest(), published(2), 2, 'NothingToPublish'],
    [
      'nothing changed but the environment key order',
      latest(SHA_A, config({ environmentVariables: { B: '2', A: '1' } })),
      published(2),
      2,
      'NothingToPublish',
    ],
    ['nothing changed since an older present version', latest(), published(2), 4, 'NothingToPublish'],
    ['only the code changed', latest(SHA_B), published(2), 2, 3],
    ['only the configuration changed', latest(SHA_A, config({ timeout: 4 })), published(2), 2, 3],
    ['both changed', latest(SHA_B, config({ memorySize: 256 })), published(2), 2, 3],
    ['a newer version was deleted: its number is not reused', latest(SHA_B), published(3), 5, 6],
    ['the description changed', latest(SHA_A, config({ description: 'x' })), published(1), 1, 2],
    [
      'an environment value changed',
      latest(SHA_A, config({ environmentVariables: { A: '1' } })),
      published(1),
      1,
      2,
    ],
    ['the handler changed', latest(SHA_A, config({ handler: 'app.main' })), published(1), 1, 2],
    ['the runtime changed', latest(SHA_A, config({ runtime: 'python3' })), published(1), 1, 2],
    ['the concurrency changed', latest(SHA_A, config({ instanceConcurrency: 5 })), published(1), 1, 2],
  ];
  for (const [label, head, newest, highest, expected] of table) {
    test(`${label} → ${typeof expected === 'number' ? `version ${expected}` : expected}`, () => {
      if (expected === 'NothingToPublish') {
        const error = caught(() => planPublish(head, newest, highest, 'v', NOW));
        assert.equal(error.code, 'NothingToPublish');
        assert.equal(error.status, 409);
        assert.deepEqual(error.details, { latestVersion: String(newest?.version) });
        assert.match(error.message, /\bfn\b/);
        assert.match(error.message, new RegExp(`version ${newest?.version}`));
        return;
      }
      assert.deepEqual(planPublish(head, newest, highest, 'release 1', NOW), {
        functionName: 'fn',
        version: expected,
        description: 'release 1',
        config: head.config,
        code: head.code,
        createdAt: NOW,
      });
    });
  }
});
