import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { config } from '../../test/support/config.js';
import type { Runtime } from '../core/function-config.js';
import { standbyProfile } from './launchers.js';

describe('standbyProfile', () => {
  it('keeps standbys per runtime and network, not for Node.js', () => {
    assert.deepEqual(standbyProfile(config({ runtime: 'python3' })), { runtime: 'python3', network: 'host' });
    assert.deepEqual(standbyProfile(config({ runtime: 'csharp', handler: 'A::B.C::D', network: 'none' })), {
      runtime: 'csharp',
      network: 'none',
    });
    assert.equal(standbyProfile(config({ runtime: 'nodejs20' })), undefined);
  });

  it('starts its own process for a function whose variables its interpreter reads as it starts', () => {
    const cases: [Runtime, string, boolean][] = [
      ['python3', 'PYTHONPATH', false],
      ['python3', 'LC_ALL', false],
      ['python3', 'LD_PRELOAD', false],
      ['python3', 'DB_PASSWORD', true],
      ['python3', 'TZ', true],
      ['php8.2', 'PHPRC', false],
      ['php8.2', 'PHP_VERSION', true],
      ['csharp', 'MONO_ENV_OPTIONS', false],
      ['csharp', 'LANG', false],
      // The relay starts the function's own server with every variable, once it knows them.
      ['custom', 'LD_PRELOAD', true],
      ['custom', 'PYTHONPATH', true],
    ];
    for (const [runtime, name, fits] of cases) {
      const profile = standbyProfile(config({ runtime, environmentVariables: { [name]: 'x' } }));
      assert.equal(profile !== undefined, fits, `${runtime} with ${name}`);
    }
  });
});
