import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorize, type Principal, type Scope, SCOPES } from './credentials.js';

const principal = (scope: Scope, functionPrefix?: string): Principal => ({
  credentialId: 'tk_1',
  actor: 'ci (tk_1)',
  scope,
  ...(functionPrefix !== undefined && { functionPrefix }),
});

const allowed = (p: Principal, need: Scope, fn?: string): boolean => {
  try {
    authorize(p, need, fn);
    return true;
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'Forbidden');
    return false;
  }
};

test('each scope includes those below it: admin ⊇ deploy ⊇ invoke', () => {
  const table: Record<Scope, Scope[]> = {
    admin: ['admin', 'deploy', 'invoke'],
    deploy: ['deploy', 'invoke'],
    invoke: ['invoke'],
  };
  for (const have of SCOPES)
    for (const need of SCOPES)
      assert.equal(allowed(principal(have), need, 'f'), table[have].includes(need), `${have} → ${need}`);
});

test('a prefix limits a credential to the functions it starts, and to requests about one function', () => {
  const shop = principal('deploy', 'shop-');
  const cases: [string | undefined, boolean][] = [
    ['shop-cart', true],
    ['shop-', true],
    ['shop', false],
    ['Shop-cart', false],
    ['blog', false],
    [undefined, false],
  ];
  for (const [fn, expected] of cases) assert.equal(allowed(shop, 'deploy', fn), expected, String(fn));
  assert.equal(allowed(principal('deploy'), 'deploy', undefined), true, 'no prefix: any request');
  assert.equal(allowed(principal('invoke', 'shop-'), 'deploy', 'shop-cart'), false, 'scope first');
});
