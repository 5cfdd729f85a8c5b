import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST } from './names.js';
import {
  type CanaryRatio,
  divideShares,
  planNode,
  splitTarget,
  type Traffic,
  trafficOfAlias,
} from './provisioned.js';

const alias = (primary: number | typeof LATEST, canary?: number, weight?: number): Traffic =>
  canary === undefined ? { primary } : { primary, canary: { version: canary, weight } };

describe('splitTarget', () => {
  const cases: [string, number, CanaryRatio, Traffic, [number, number] | number][] = [
    ['a version alone takes all', 10, 0.2, alias(1), 10],
    ['$LATEST alone takes all', 3, 0.01, alias(LATEST), 3],
    ['the issue: 10 with ratio 0.2 → 8 and 2', 10, 0.2, alias(1, 2, 0.2), [8, 2]],
    ['the default 1 % still gives the canary one of several', 10, 0.01, alias(1, 2, 0.1), [9, 1]],
    ['round half up', 10, 0.15, alias(1, 2, 0.5), [8, 2]],
    ['0.35 × 10 is 4 (no float drift)', 10, 0.35, alias(1, 2, 0.5), [6, 4]],
    ['one instance: the ratio alone decides (primary)', 1, 0.2, alias(1, 2, 0.5), [1, 0]],
    ['one instance: the ratio alone decides (canary)', 1, 0.5, alias(1, 2, 0.5), [0, 1]],
    ['a canary without traffic gets none at the default', 10, 0.01, alias(1, 2, 0), [10, 0]],
    ['a canary without traffic still gets an explicit ratio', 10, 0.2, alias(1, 2, 0), [8, 2]],
    ['ratio 1 leaves the primary one while it has traffic', 10, 1, alias(1, 2, 0.5), [1, 9]],
    ['ratio 1 takes all once the canary has all traffic', 10, 1, alias(1, 2, 1), [0, 10]],
    ['"weight" follows 10 %', 10, 'weight', alias(1, 2, 0.1), [9, 1]],
    ['"weight" follows 50 %', 10, 'weight', alias(1, 2, 0.5), [5, 5]],
    ['"weight" follows 100 %', 10, 'weight', alias(1, 2, 1), [0, 10]],
    ['"weight" at 0 gives the canary none', 10, 'weight', alias(1, 2, 0), [10, 0]],
    ['"weight" with a tiny weight still gives one', 10, 'weight', alias(1, 2, 0.001), [9, 1]],
    ['"weight" under rules takes the default 1 %', 10, 'weight', alias(1, 2, undefined), [9, 1]],
    ['rules with ratio 0.3', 10, 0.3, alias(1, 2, undefined), [7, 3]],
    ['a canary of the primary itself is the primary', 4, 0.5, alias(2, 2, 0.5), 4],
    ['target 0 is nothing', 0, 0.5, alias(1, 2, 0.5), [0, 0]],
    ['two instances, both sides with traffic', 2, 'weight', alias(1, 2, 0.9), [1, 1]],
  ];
  for (const [name, target, ratio, traffic, expected] of cases) {
    test(name, () => {
      const shares = splitTarget(target, ratio, traffic);
      if (typeof expected === 'number') {
        assert.deepEqual(shares, [{ version: traffic.primary, role: 'primary', count: expected }]);
      } else {
        assert.deepEqual(
          shares.map((s) => [s.role, s.count]),
          [
            ['primary', expected[0]],
            ['canary', expected[1]],
          ],
        );
        assert.equal(shares[1]?.version, traffic.canary?.version);
      }
    });
  }

  test('never more or less than the target, for every target, ratio and weight', () => {
    for (let target = 0; target <= 25; target++) {
      for (const ratio of [0, 0.01, 0.2, 0.5, 0.99, 1, 'weight'] as const) {
        for (const weight of [0, 0.0001, 0.1, 0.5, 0.9999, 1, undefined]) {
          const shares = splitTarget(target, ratio, alias(1, 2, weight));
          assert.equal(
            shares.reduce((n, s) => n + s.count, 0),
            target,
          );
          for (const s of shares) assert.ok(s.count >= 0);
        }
      }
    }
  });
});

describe('trafficOfAlias', () => {
  test('reads primary, canary and weight from an alias', () => {
    assert.deepEqual(trafficOfAlias({ version: 1, description: '' }), { primary: 1 });
    assert.deepEqual(trafficOfAlias({ version: 1, description: '', canary: { version: 2, weight: 0.2 } }), {
      primary: 1,
      canary: { version: 2, weight: 0.2 },
    });
    assert.deepEqual(
      trafficOfAlias({
        version: LATEST,
        description: '',
        canary: {
          version: 3,
          match: 'any',
          rules: [{ source: 'header', name: 'x', op: '=', value: 'y' }],
        },
      }),
      { primary: LATEST, canary: { version: 3, weight: undefined } },
    );
  });
});

describe('divideShares', () => {
  test('every node gets the same number give or take one, of the whole and of each version', () => {
    for (let nodes = 1; nodes <= 5; nodes++) {
      for (let a = 0; a <= 12; a++) {
        for (let b = 0; b <= 5; b++) {
          const shares = [
            { version: 1, role: 'primary' as const, count: a },
            { version: 2, role: 'canary' as const, count: b },
          ];
          const divided = divideShares(shares, nodes, `f${a}/${b}`);
          const totals = new Array<number>(nodes).fill(0);
          divided.forEach((perNode, i) => {
            assert.equal(perNode.length, nodes);
            assert.equal(
              perNode.reduce((n, c) => n + c, 0),
              shares[i]?.count,
            );
            assert.ok(Math.max(...perNode) - Math.min(...perNode) <= 1);
            perNode.forEach((c, n) => (totals[n] = (totals[n] ?? 0) + c));
          });
          assert.ok(Math.max(...totals) - Math.min(...totals) <= 1, `${nodes} nodes, ${a} + ${b}`);
        }
      }
    }
  });

  test('the same qualifier is dealt alike every time, and different ones start at different nodes', () => {
    const shares = [{ version: 1, role: 'primary' as const, count: 1 }];
    assert.deepEqual(divideShares(shares, 3, 'f\u0000live'), divideShares(shares, 3, 'f\u0000live'));
    const firsts = new Set(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((q) => divideShares(shares, 3, q)[0]?.indexOf(1)),
    );
    assert.ok(firsts.size > 1);
  });

  test('no node: nothing to deal to', () => {
    assert.deepEqual(divideShares([{ version: 1, role: 'primary', count: 3 }], 0, 's'), [[]]);
  });
});

describe('planNode', () => {
  const spec = { target: 10, canaryRatio: 0.2 };
  const traffic = alias(1, 2, 0.2);

  test('one node runs the whole target', () => {
    assert.deepEqual(
      planNode('f', 'live', spec, traffic, ['me'], 'me').map((p) => [p.version, p.count, p.local]),
      [
        [1, 8, 8],
        [2, 2, 2],
      ],
    );
  });

  test('two nodes run 5 each, each version evenly, and agree whatever order they list each other in', () => {
    const a = planNode('f', 'live', spec, traffic, ['b', 'a'], 'a');
    const b = planNode('f', 'live', spec, traffic, ['a', 'b'], 'b');
    assert.deepEqual(
      a.map((p) => p.local),
      [4, 1],
    );
    assert.deepEqual(
      b.map((p) => p.local),
      [4, 1],
    );
  });

  test('three nodes: 10 is 4 + 3 + 3, and every instance is somewhere', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const plans = nodes.map((n) =>
      planNode('f', 'live', { target: 10, canaryRatio: 0.01 }, alias(1), nodes, n),
    );
    const locals = plans.map((p) => p[0]?.local ?? 0);
    assert.equal(
      locals.reduce((n, c) => n + c, 0),
      10,
    );
    assert.deepEqual([...locals].sort(), [3, 3, 4]);
  });

  test('a node that is not among the live ones runs nothing', () => {
    assert.deepEqual(
      planNode('f', 'live', spec, traffic, ['a'], 'b').map((p) => p.local),
      [0, 0],
    );
  });
});
