import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { type AliasSpecInput, parseAliasSpec } from './alias.js';
import { type Condition, SOURCES, type Source } from './conditions.js';
import type { VersionRef } from './names.js';
import { compileRoute, explainRoute, route, type CompiledRoute, type ParameterLookup } from './routing.js';
import { entriesByHeaderName } from './routing-key.js';
import { BUCKETS, bucketOf } from './stable-hash.js';
import { seeded } from '../../test/support/seeded.js';

// The routing engine against DESIGN §1 and issue 4's "How it will be judged": weighted shares within
// statistical bounds, sticky and `percent` decisions that are stable and monotonic, every op × every source,
// and `explainRoute` agreeing with `route`. Pure and fast: no timing asserts here (benchmarks live in bench/).

const SALT = 'shop/release';
const PRIMARY = 1;
const CANARY = 2;

/** The alias as a user writes it through the API, validated, then compiled as the catalog compiles it. */
function alias(canary: unknown, salt = SALT): CompiledRoute {
  return compileRoute(parseAliasSpec({ version: String(PRIMARY), canary } as AliasSpecInput), salt);
}

type Params = Partial<Record<Source, Record<string, string>>>;

/** A request's parameters; header names are given lower-cased, as they arrive from Node's HTTP parser. */
function lookupOf(params: Params): ParameterLookup {
  return (source, name) => {
    if (source === 'routingKeyHeader') return entriesByHeaderName(params.key ?? {}).get(name);
    const map = params[source];
    return map && Object.hasOwn(map, name) ? map[name] : undefined;
  };
}

/** What a rule reads of a request: SCF's rule lets a routing key's entry stand for a header it lacks. */
const read = (lookup: ParameterLookup, source: Source, name: string) =>
  lookup(source, name) ?? (source === 'header' ? lookup('routingKeyHeader', name) : undefined);

const NOTHING = lookupOf({});
const constant = (r: number) => () => r;
/** Random sources at both ends of [0, 1) and in between: a sticky or rule decision ignores them all. */
const RANDOMS = [constant(0), constant(0.5), constant(0.9999999), Math.random];

/** |observed - expected| within k standard deviations of a binomial share over n trials. */
function assertShare(hits: number, n: number, p: number, what: string, k = 4): void {
  const sigma = Math.sqrt((p * (1 - p)) / n);
  const share = hits / n;
  assert.ok(
    Math.abs(share - p) <= k * sigma,
    `${what}: observed ${share.toFixed(5)} (${hits}/${n}), expected ${p} ± ${(k * sigma).toFixed(5)} (${k}σ)`,
  );
}

const WEIGHTS = [0, 0.0001, 0.05, 0.3, 0.5, 0.9999, 1];

describe('weight mode: independent draws', () => {
  const N = 100_000;
  for (const weight of WEIGHTS) {
    test(`weight ${weight}: the canary share of ${N} decisions is within 4σ${weight % 1 === 0 ? ' (exact)' : ''}`, () => {
      const compiled = alias({ version: String(CANARY), weight });
      const random = seeded(weight * 10_000 + 1);
      let canary = 0;
      for (let i = 0; i < N; i++) {
        const version = route(compiled, NOTHING, random);
        if (version === CANARY) canary++;
        else assert.equal(version, PRIMARY);
      }
      if (weight === 0) assert.equal(canary, 0, 'weight 0 never picks the canary');
      else if (weight === 1) assert.equal(canary, N, 'weight 1 always picks the canary');
      else assertShare(canary, N, weight, `weight ${weight}`);
    });
  }

  test('the edges of the random source: 0 and 1 are exact, and the threshold sits at weight × 10 000', () => {
    const lowest = constant(0);
    const highest = constant(0.9999999);
    assert.equal(route(alias({ version: '2', weight: 0 }), NOTHING, lowest), PRIMARY);
    assert.equal(route(alias({ version: '2', weight: 0 }), NOTHING, highest), PRIMARY);
    assert.equal(route(alias({ version: '2', weight: 1 }), NOTHING, lowest), CANARY);
    assert.equal(route(alias({ version: '2', weight: 1 }), NOTHING, highest), CANARY);
    for (const weight of WEIGHTS.filter((w) => w > 0 && w < 1)) {
      const compiled = alias({ version: '2', weight });
      const step = weight * BUCKETS;
      assert.equal(route(compiled, NOTHING, lowest), CANARY, `weight ${weight}, draw 0`);
      assert.equal(route(compiled, NOTHING, highest), PRIMARY, `weight ${weight}, draw 0.9999999`);
      assert.equal(
        route(compiled, NOTHING, constant((step - 0.5) / BUCKETS)),
        CANARY,
        `just below ${weight}`,
      );
      assert.equal(
        route(compiled, NOTHING, constant((step + 0.5) / BUCKETS)),
        PRIMARY,
        `just above ${weight}`,
      );
    }
  });

  test('an alias without a canary always answers its primary', () => {
    const compiled = compileRoute(parseAliasSpec({ version: '3' }), SALT);
    for (const random of RANDOMS) assert.equal(route(compiled, NOTHING, random), 3);
    const latest = compileRoute(
      parseAliasSpec({ version: '$LATEST', canary: { version: '1', weight: 0 } }),
      SALT,
    );
    assert.equal(route(latest, NOTHING, Math.random), '$LATEST');
  });
});

describe('weight mode: sticky', () => {
  const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const STICKY_BY_SOURCE: [Source, string, string][] = [
    // [source, name as written in the alias, name as looked up]
    ['header', 'X-User', 'x-user'],
    ['cookie', 'uid', 'uid'],
    ['query', 'u', 'u'],
    ['key', 'userId', 'userId'],
  ];

  const stickyAlias = (weight: number, source: Source = 'header', name = 'X-User', salt = SALT) =>
    alias({ version: '2', weight, sticky: { source, name } }, salt);

  for (const [source, name, lookedUp] of STICKY_BY_SOURCE) {
    test(`${source}:${name}: the same key always gives the same version, whatever the random source`, () => {
      const compiled = stickyAlias(0.5, source, name);
      const sides = new Set<VersionRef>();
      for (const key of KEYS.slice(0, 200)) {
        const lookup = lookupOf({ [source]: { [lookedUp]: key } });
        const first = route(compiled, lookup, Math.random);
        sides.add(first);
        for (const random of RANDOMS) {
          for (let i = 0; i < 5; i++) assert.equal(route(compiled, lookup, random), first, `key ${key}`);
        }
      }
      assert.deepEqual([...sides].sort(), [PRIMARY, CANARY], 'keys land on both sides at weight 0.5');
    });

    test(`${source}:${name}: an absent key falls back to the random draw`, () => {
      const compiled = stickyAlias(0.3, source, name);
      // The key under another source, or under another name, is absent for this alias (a routing key's entry
      // would stand for a missing header: SCF's rule, tested below).
      const others = lookupOf(
        Object.fromEntries(
          SOURCES.filter((s) => !(source === 'header' && s === 'key')).map((s) => [
            s,
            s === source ? { [`${lookedUp}-other`]: 'user-1' } : { [lookedUp]: 'user-1' },
          ]),
        ),
      );
      for (const lookup of [NOTHING, others]) {
        assert.equal(route(compiled, lookup, constant(0)), CANARY);
        assert.equal(route(compiled, lookup, constant(0.9999999)), PRIMARY);
        const random = seeded(20_000);
        let canary = 0;
        for (let i = 0; i < 20_000; i++) if (route(compiled, lookup, random) === CANARY) canary++;
        assertShare(canary, 20_000, 0.3, 'random fallback');
      }
    });
  }

  test('10 000 keys: raising the weight 0 → 0.1 → 0.2 → 0.5 → 1 moves keys only from primary to canary', () => {
    const weights = [0, 0.1, 0.2, 0.5, 1];
    const onCanary = weights.map((weight) => {
      const compiled = stickyAlias(weight);
      return new Set(
        KEYS.filter(
          (key) => route(compiled, lookupOf({ header: { 'x-user': key } }), Math.random) === CANARY,
        ),
      );
    });
    weights.forEach((weight, i) => {
      const set = onCanary[i] as Set<string>;
      if (weight === 0) assert.equal(set.size, 0);
      else if (weight === 1) assert.equal(set.size, KEYS.length);
      else assertShare(set.size, KEYS.length, weight, `sticky weight ${weight}`);
      if (i === 0) return;
      const lower = onCanary[i - 1] as Set<string>;
      const movedBack = [...lower].filter((key) => !set.has(key));
      assert.deepEqual(movedBack, [], `no key went back to the primary at ${weights[i - 1]} → ${weight}`);
      assert.ok(set.size > lower.size, `some keys moved to the canary at ${weights[i - 1]} → ${weight}`);
    });
  });

  test('the header name of a sticky alias is case-insensitive', () => {
    for (const written of ['X-User', 'x-user', 'X-USER']) {
      const compiled = stickyAlias(0.5, 'header', written);
      for (const key of KEYS.slice(0, 100)) {
        const lookup = lookupOf({ header: { 'x-user': key } });
        assert.equal(route(compiled, lookup, constant(0)), route(compiled, lookup, constant(0.9999999)));
        assert.equal(route(compiled, lookup, constant(0)), route(stickyAlias(0.5), lookup, constant(0)));
      }
    }
  });

  test('the hash depends on the alias: another alias splits the same keys differently', () => {
    const here = stickyAlias(0.5);
    const there = stickyAlias(0.5, 'header', 'X-User', 'shop/prepub');
    const differ = KEYS.filter((key) => {
      const lookup = lookupOf({ header: { 'x-user': key } });
      return route(here, lookup, Math.random) !== route(there, lookup, Math.random);
    }).length;
    assertShare(differ, KEYS.length, 0.5, 'keys on different sides in two aliases at 0.5');
  });
});

describe('percent rules', () => {
  const VALUES = Array.from({ length: 10_000 }, (_, i) => `uid-${i}`);
  const percent = (n: number, source: Source = 'header', name = 'user-id') =>
    alias({ version: '2', rules: [{ source, name, op: 'percent', value: n }] });
  const lookedUp = (source: Source, value: string) => lookupOf({ [source]: { 'user-id': value } });

  for (const source of SOURCES) {
    test(`${source}: the same value always lands on the same side; 20 % of 10 000 values within 4σ`, () => {
      const compiled = percent(20, source);
      let canary = 0;
      for (const value of VALUES) {
        const lookup = lookedUp(source, value);
        const first = route(compiled, lookup, Math.random);
        if (first === CANARY) canary++;
        for (const random of RANDOMS) assert.equal(route(compiled, lookup, random), first, value);
      }
      assertShare(canary, VALUES.length, 0.2, `percent 20 on ${source}`);
    });
  }

  test('percent 0 matches no value and percent 100 every value; an absent value never matches', () => {
    const none = percent(0);
    const all = percent(100);
    for (const value of VALUES) {
      assert.equal(route(none, lookedUp('header', value), Math.random), PRIMARY, value);
      assert.equal(route(all, lookedUp('header', value), Math.random), CANARY, value);
    }
    assert.equal(route(all, NOTHING, constant(0)), PRIMARY, 'absent fails even percent 100');
  });

  test('the shares for N = 1, 5, 50, 95 are within 4σ, and raising N only adds values', () => {
    let previous = new Set<string>();
    for (const n of [1, 5, 20, 50, 95]) {
      const compiled = percent(n);
      const matched = new Set(
        VALUES.filter((v) => route(compiled, lookedUp('header', v), Math.random) === CANARY),
      );
      assertShare(matched.size, VALUES.length, n / 100, `percent ${n}`);
      assert.deepEqual(
        [...previous].filter((v) => !matched.has(v)),
        [],
        `raising to ${n} % keeps every value that matched before`,
      );
      previous = matched;
    }
  });
});

describe('stable across processes and releases', () => {
  // Computed once, when this test was written: a change to the hash (or to how routing salts it) would move
  // users between versions on upgrade, so it must fail here.
  const PINNED_BUCKETS: [salt: string, value: string, bucket: number][] = [
    ['f/a', 'user-1', 8835],
    ['f/a', 'user-2', 3772],
    ['shop/release', 'alice', 8929],
    ['shop/release', 'Bob', 7738],
    ['shop/release', 'user-0', 5539],
    ['shop/release', 'user-1', 5035],
    ['fn/prod', '42', 9136],
    ['f/a', '日本', 5191],
    ['a/b', 'x', 523],
    ['', '', 4203],
  ];
  // Sticky on header X-User at 0.5 in alias shop/release, for user-0 … user-15.
  const PINNED_STICKY = [1, 1, 2, 1, 1, 2, 1, 2, 1, 1, 1, 1, 2, 2, 2, 2];
  // `percent 20` on header user-id in alias shop/release: which of u0 … u29 match.
  const PINNED_PERCENT = ['u1', 'u12', 'u24', 'u26'];

  const stickyKeys = PINNED_STICKY.map((_, i) => `user-${i}`);
  const percentValues = Array.from({ length: 30 }, (_, i) => `u${i}`);

  function decisions() {
    const sticky = alias({ version: '2', weight: 0.5, sticky: { source: 'header', name: 'X-User' } });
    const pct = alias({
      version: '2',
      rules: [{ source: 'header', name: 'user-id', op: 'percent', value: 20 }],
    });
    return {
      buckets: PINNED_BUCKETS.map(([salt, value]) => bucketOf(salt, value)),
      sticky: stickyKeys.map((key) => route(sticky, lookupOf({ header: { 'x-user': key } }), Math.random)),
      percent: percentValues.filter(
        (v) => route(pct, lookupOf({ header: { 'user-id': v } }), Math.random) === CANARY,
      ),
    };
  }

  test('bucketOf, sticky and percent decisions equal the values pinned when this test was written', () => {
    const now = decisions();
    assert.deepEqual(
      now.buckets,
      PINNED_BUCKETS.map(([, , bucket]) => bucket),
    );
    assert.deepEqual(now.sticky, PINNED_STICKY);
    assert.deepEqual(now.percent, PINNED_PERCENT);
  });

  test('a second Node.js process computes the same buckets and decisions', () => {
    const url = (file: string) => new URL(`./${file}`, import.meta.url).href;
    const script = `
      const { bucketOf } = await import(${JSON.stringify(url('stable-hash.js'))});
      const { compileRoute, route } = await import(${JSON.stringify(url('routing.js'))});
      const { parseAliasSpec } = await import(${JSON.stringify(url('alias.js'))});
      const input = JSON.parse(process.argv[1]);
      const compile = (canary) => compileRoute(parseAliasSpec({ version: '1', canary }), input.salt);
      const sticky = compile({ version: '2', weight: 0.5, sticky: { source: 'header', name: 'X-User' } });
      const pct = compile({ version: '2', rules: [{ source: 'header', name: 'user-id', op: 'percent', value: 20 }] });
      const at = (name, value) => (source, n) => (source === 'header' && n === name ? value : undefined);
      process.stdout.write(JSON.stringify({
        buckets: input.pairs.map(([salt, value]) => bucketOf(salt, value)),
        sticky: input.stickyKeys.map((k) => route(sticky, at('x-user', k), Math.random)),
        percent: input.percentValues.filter((v) => route(pct, at('user-id', v), Math.random) === 2),
      }));
    `;
    const input = JSON.stringify({
      salt: SALT,
      pairs: PINNED_BUCKETS.map(([salt, value]) => [salt, value]),
      stickyKeys,
      percentValues,
    });
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, input], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8' },
    });
    assert.deepEqual(JSON.parse(output), decisions());
  });
});

describe('rule conditions: every op × every source', () => {
  // [op, value, the parameter's value (undefined: absent), holds]
  type Row = [op: string, value: unknown, param: string | undefined, holds: boolean];
  const NON_NUMBERS = ['12a', 'abc', '', 'NaN', '1,5'];
  const numericRows = (op: string, bound: number, yes: string[], no: string[]): Row[] => [
    ...yes.map((p): Row => [op, bound, p, true]),
    ...no.map((p): Row => [op, bound, p, false]),
    ...NON_NUMBERS.map((p): Row => [op, bound, p, false]),
    [op, bound, undefined, false],
  ];
  const rangeRows = (interval: string, yes: string[], no: string[]): Row[] => [
    ...yes.map((p): Row => ['range', interval, p, true]),
    ...no.map((p): Row => ['range', interval, p, false]),
    ...NON_NUMBERS.map((p): Row => ['range', interval, p, false]),
    ['range', interval, undefined, false],
  ];
  const rows: Row[] = [
    ['=', 'Bob', 'Bob', true],
    ['=', 'Bob', 'bob', false],
    ['=', 'Bob', 'Bob ', false],
    ['=', 'Bob', 'Alice', false],
    ['=', 'Bob', undefined, false],
    ['=', '', '', true],
    ['=', '', undefined, false],
    ['=', '42', '42', true],
    ['=', '42', '42.0', false],
    ['!=', 'Bob', 'Alice', true],
    ['!=', 'Bob', '', true],
    ['!=', 'Bob', 'Bob', false],
    ['!=', 'Bob', undefined, false],
    ['!=', '', 'x', true],
    ['!=', '', '', false],
    ['!=', '', undefined, false],
    ...numericRows('>', 10, ['11', '10.5', '1e2', '+11'], ['10', '9', '-11', '0']),
    ...numericRows('<', 10, ['9', '9.99', '-5', '0', '.5'], ['10', '11', '1e2']),
    ...numericRows('>=', 10, ['10', '10.0', '11'], ['9.999', '-10']),
    ...numericRows('<=', 10, ['10', '10.0', '-3'], ['10.001', '11']),
    ...numericRows('>', -1.5, ['-1', '0', '2'], ['-1.5', '-2']),
    ['in', ['42', '43'], '42', true],
    ['in', ['42', '43'], '43', true],
    ['in', ['42', '43'], '44', false],
    ['in', ['42', '43'], '042', false],
    ['in', ['42', '43'], '', false],
    ['in', ['42', '43'], undefined, false],
    ['in', ['', 'x'], '', true],
    ...rangeRows('[1,100)', ['1', '1.0', '50', '99.999'], ['0.999', '100', '100.5', '-1']),
    ...rangeRows('(1,100]', ['1.001', '100', '50'], ['1', '100.001', '0']),
    ...rangeRows('[1,100]', ['1', '100'], ['0.9', '100.1']),
    ...rangeRows('(1,100)', ['2', '99'], ['1', '100']),
    ...rangeRows('[-5, 5]', ['-5', '0', '5'], ['-5.1', '5.1']),
    ...rangeRows('[5,5]', ['5', '5.0'], ['4.9', '5.1']),
    ['percent', 100, 'anything', true],
    ['percent', 100, '', true],
    ['percent', 100, undefined, false],
    ['percent', 0, 'anything', false],
    ['percent', 0, undefined, false],
  ];

  /** How the parameter is named in the rule and in the request (headers arrive lower-cased). */
  const names = (source: Source) =>
    source === 'header' ? { rule: 'X-Param', request: 'x-param' } : { rule: 'x-param', request: 'x-param' };

  for (const source of SOURCES) {
    for (const op of new Set(rows.map(([o]) => o))) {
      test(`${source}: ${op}`, () => {
        const { rule, request } = names(source);
        for (const [, value, param, holds] of rows.filter(([o]) => o === op)) {
          const compiled = alias({ version: '2', rules: [{ source, name: rule, op, value }] });
          const here: Params = param === undefined ? {} : { [source]: { [request]: param } };
          const what = `${source}:${rule} ${op} ${JSON.stringify(value)} on ${param === undefined ? 'absent' : JSON.stringify(param)}`;
          for (const random of [constant(0), constant(0.9999999)]) {
            assert.equal(route(compiled, lookupOf(here), random), holds ? CANARY : PRIMARY, what);
          }
          // The same value under every other source counts for nothing (but a routing key's entry stands for
          // a header the request lacks: see SCF's rule below).
          const elsewhere: Params = Object.fromEntries(
            SOURCES.filter((s) => s !== source && !(source === 'header' && s === 'key')).map((s) => [
              s,
              { [names(s).request]: param ?? 'x' },
            ]),
          );
          assert.equal(route(compiled, lookupOf(elsewhere), Math.random), PRIMARY, `${what}, only elsewhere`);
          assert.equal(
            route(compiled, lookupOf({ ...elsewhere, ...here }), Math.random),
            holds ? CANARY : PRIMARY,
            what,
          );
          const explained = explainRoute(compiled, lookupOf(here), Math.random);
          assert.equal(explained.reason, 'rules');
          assert.deepEqual(
            explained.conditions.map((c) => [c.holds, c.value]),
            [[holds, param]],
            `explain: ${what}`,
          );
        }
      });
    }
  }

  test('header names are case-insensitive; cookie, query and routing-key names are not', () => {
    for (const written of ['User', 'user', 'USER', 'uSeR']) {
      const compiled = alias({
        version: '2',
        rules: [{ source: 'header', name: written, op: '=', value: 'Bob' }],
      });
      assert.equal(route(compiled, lookupOf({ header: { user: 'Bob' } }), Math.random), CANARY, written);
    }
    for (const source of ['cookie', 'query', 'key'] as const) {
      const compiled = alias({ version: '2', rules: [{ source, name: 'User', op: '=', value: 'Bob' }] });
      assert.equal(route(compiled, lookupOf({ [source]: { User: 'Bob' } }), Math.random), CANARY, source);
      assert.equal(route(compiled, lookupOf({ [source]: { user: 'Bob' } }), Math.random), PRIMARY, source);
    }
  });

  describe("SCF's rule: a routing key stands for the headers a request lacks", () => {
    // Seed 004: the rule `invoke.headers.User exact Bob`, met by an invoke API call with RoutingKey {"User":"Bob"}.
    const bob = alias({ version: '2', rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] });
    const cases: [
      what: string,
      Params,
      served: VersionRef,
      value: string | undefined,
      from: string | undefined,
    ][] = [
      ['the routing key alone', { key: { User: 'Bob' } }, CANARY, 'Bob', 'routingKey'],
      ['its name in another case', { key: { user: 'Bob' } }, CANARY, 'Bob', 'routingKey'],
      ['its name in capitals', { key: { USER: 'Bob' } }, CANARY, 'Bob', 'routingKey'],
      ['another user in the routing key', { key: { User: 'Alice' } }, PRIMARY, 'Alice', 'routingKey'],
      ['another entry only', { key: { Username: 'Bob' } }, PRIMARY, undefined, undefined],
      [
        'a header wins over the key',
        { header: { user: 'Alice' }, key: { User: 'Bob' } },
        PRIMARY,
        'Alice',
        'header',
      ],
      [
        'and the other way round',
        { header: { user: 'Bob' }, key: { User: 'Alice' } },
        CANARY,
        'Bob',
        'header',
      ],
      ['an empty header still wins', { header: { user: '' }, key: { User: 'Bob' } }, PRIMARY, '', 'header'],
      [
        'a cookie or a query parameter is no header',
        { cookie: { User: 'Bob' }, query: { User: 'Bob' } },
        PRIMARY,
        undefined,
        undefined,
      ],
    ];
    for (const [what, params, served, value, from] of cases) {
      test(what, () => {
        const lookup = lookupOf(params);
        assert.equal(route(bob, lookup, Math.random), served);
        const explained = explainRoute(bob, lookup, Math.random);
        assert.equal(explained.version, served);
        assert.equal(explained.reason, 'rules');
        assert.deepEqual(
          explained.conditions.map((c) => [c.value, c.from]),
          [[value, from]],
        );
      });
    }

    test('a header stands for no routing-key entry: key rules read the routing key only', () => {
      const keyed = alias({ version: '2', rules: [{ source: 'key', name: 'User', op: '=', value: 'Bob' }] });
      assert.equal(route(keyed, lookupOf({ header: { user: 'Bob' } }), Math.random), PRIMARY);
    });

    test('a sticky header is read from the routing key too, into the same bucket', () => {
      const sticky = alias({ version: '2', weight: 0.5, sticky: { source: 'header', name: 'X-User' } });
      const byHeader = explainRoute(sticky, lookupOf({ header: { 'x-user': 'user-0' } }), Math.random);
      const byKey = explainRoute(sticky, lookupOf({ key: { 'X-User': 'user-0' } }), Math.random);
      assert.equal(byHeader.reason === 'weight' && byHeader.sticky?.from, 'header');
      assert.equal(byKey.reason === 'weight' && byKey.sticky?.from, 'routingKey');
      assert.equal(byKey.reason === 'weight' && byKey.sticky?.bucket, 5539);
      assert.equal(byKey.version, byHeader.version);
    });
  });

  test('all needs every condition, any needs one; an absent parameter fails its condition in both', () => {
    const conditions = [
      { source: 'header', name: 'User', op: '=', value: 'Bob' },
      { source: 'query', name: 'v', op: '>=', value: 2 },
      { source: 'key', name: 'region', op: 'in', value: ['eu', 'us'] },
    ];
    const cases: [Params, all: boolean, any: boolean][] = [
      [{ header: { user: 'Bob' }, query: { v: '3' }, key: { region: 'eu' } }, true, true],
      [{ header: { user: 'Bob' }, query: { v: '1' }, key: { region: 'eu' } }, false, true],
      [{ header: { user: 'Bob' }, key: { region: 'eu' } }, false, true],
      [{ header: { user: 'Alice' }, query: { v: 'x' }, key: { region: 'eu' } }, false, true],
      [{ header: { user: 'Alice' }, query: { v: '2' } }, false, true],
      [{ header: { user: 'Alice' }, query: { v: '1' }, key: { region: 'asia' } }, false, false],
      [{ query: { v: 'two' } }, false, false],
      [{}, false, false],
    ];
    const all = alias({ version: '2', match: 'all', rules: conditions });
    const any = alias({ version: '2', match: 'any', rules: conditions });
    const byDefault = alias({ version: '2', rules: conditions });
    for (const [params, expectAll, expectAny] of cases) {
      const lookup = lookupOf(params);
      assert.equal(
        route(all, lookup, Math.random),
        expectAll ? CANARY : PRIMARY,
        `all: ${JSON.stringify(params)}`,
      );
      assert.equal(
        route(any, lookup, Math.random),
        expectAny ? CANARY : PRIMARY,
        `any: ${JSON.stringify(params)}`,
      );
      assert.equal(
        route(byDefault, lookup, Math.random),
        route(all, lookup, Math.random),
        'match defaults to all',
      );
    }
  });

  test("the seeds' rules, literally", () => {
    // Seeds 002–004: `invoke.headers.User exact Bob` → header:User = Bob.
    const bob = alias({ version: '2', rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] });
    assert.equal(route(bob, lookupOf({ header: { user: 'Bob' } }), Math.random), CANARY, 'Bob → canary');
    assert.equal(
      route(bob, lookupOf({ header: { user: 'Alice' } }), Math.random),
      PRIMARY,
      'Alice → primary',
    );
    assert.equal(
      route(bob, lookupOf({ header: { user: 'bob' } }), Math.random),
      PRIMARY,
      'the value is exact',
    );
    assert.equal(route(bob, NOTHING, Math.random), PRIMARY, 'no User header → primary');
    // Seed 001: a header rule keyed x-test-uid.
    const testUid = alias({
      version: '2',
      rules: [{ source: 'header', name: 'x-test-uid', op: '=', value: '1001' }],
    });
    assert.equal(route(testUid, lookupOf({ header: { 'x-test-uid': '1001' } }), Math.random), CANARY);
    assert.equal(route(testUid, lookupOf({ header: { 'x-test-uid': '1002' } }), Math.random), PRIMARY);
    assert.equal(route(testUid, lookupOf({ query: { 'x-test-uid': '1001' } }), Math.random), PRIMARY);
    assert.equal(route(testUid, NOTHING, Math.random), PRIMARY);
    // Seed 001: "set Parameter to user-id and Value to 20 to route requests from 20% of user-id values".
    const twenty = alias({
      version: '2',
      rules: [{ source: 'header', name: 'user-id', op: 'percent', value: 20 }],
    });
    let canary = 0;
    for (let i = 0; i < 10_000; i++) {
      const lookup = lookupOf({ header: { 'user-id': String(100_000 + i) } });
      const version = route(twenty, lookup, Math.random);
      assert.equal(route(twenty, lookup, Math.random), version);
      if (version === CANARY) canary++;
    }
    assertShare(canary, 10_000, 0.2, 'percent 20 on user-id');
  });
});

describe('explainRoute', () => {
  const NAMES = ['User', 'v', 'uid'];
  const VALUES = ['Bob', 'alice', '42', '43', '7', '12a', '', '100', '0.5', '-3'];

  function pick<T>(random: () => number, items: readonly T[]): T {
    return items[Math.floor(random() * items.length)] as T;
  }

  function randomCondition(random: () => number): Record<string, unknown> {
    const source = pick(random, SOURCES);
    const name = pick(random, NAMES);
    const op = pick(random, ['=', '!=', '>', '<', '>=', '<=', 'in', 'range', 'percent'] as const);
    const value = {
      '=': () => pick(random, VALUES),
      '!=': () => pick(random, VALUES),
      '>': () => pick(random, [0, 7, 42, -3, 0.5]),
      '<': () => pick(random, [0, 7, 42, -3, 0.5]),
      '>=': () => pick(random, [0, 7, 42, -3, 0.5]),
      '<=': () => pick(random, [0, 7, 42, -3, 0.5]),
      in: () => [pick(random, VALUES), pick(random, VALUES)],
      range: () => pick(random, ['[1,100)', '(0,42]', '[-5,5]', '(7,43)']),
      percent: () => pick(random, [0, 10, 50, 90, 100]),
    }[op]();
    return { source, name, op, value };
  }

  function randomCanary(random: () => number): unknown {
    const roll = random();
    if (roll < 0.1) return undefined;
    if (roll < 0.55) {
      const weight = pick(random, [0, 0.0001, 0.3, 0.5, 0.9999, 1, Math.round(random() * 10_000) / 10_000]);
      const sticky = pick(random, [undefined, ...SOURCES]);
      return sticky
        ? { version: '2', weight, sticky: { source: sticky, name: pick(random, NAMES) } }
        : { version: '2', weight };
    }
    const count = 1 + Math.floor(random() * 3);
    return {
      version: '2',
      match: pick(random, ['all', 'any']),
      rules: Array.from({ length: count }, () => randomCondition(random)),
    };
  }

  function randomParams(random: () => number): Params {
    const params: Params = {};
    for (const source of SOURCES) {
      const map: Record<string, string> = {};
      for (const name of NAMES) {
        if (random() < 0.6) map[source === 'header' ? name.toLowerCase() : name] = pick(random, VALUES);
      }
      params[source] = map;
    }
    return params;
  }

  test('agrees with route on 20 000 random aliases, requests and draws, and says why', () => {
    const random = seeded(4);
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const canary = randomCanary(random);
      const salt = `fn${i % 7}/alias${i % 5}`;
      const compiled = compileRoute(parseAliasSpec({ version: '1', canary } as AliasSpecInput), salt);
      const lookup = lookupOf(randomParams(random));
      // Half the draws sit at the weight's threshold, where an off-by-one between the two would show.
      const weight = (canary as { weight?: number } | undefined)?.weight;
      const edge = weight === undefined ? 0 : weight * BUCKETS + pick(random, [-1, -0.5, 0, 0.5]);
      const draw = constant(random() < 0.5 ? random() : Math.min(Math.max(edge, 0), BUCKETS - 0.5) / BUCKETS);
      const version = route(compiled, lookup, draw);
      const explained = explainRoute(compiled, lookup, draw);
      const what = `case ${i}: ${JSON.stringify(canary)}`;
      assert.equal(explained.version, version, what);
      assert.equal(explained.target, version === CANARY ? 'canary' : 'primary', what);
      seen.add(`${explained.reason}/${explained.target}`);
      switch (explained.reason) {
        case 'no canary':
          assert.equal(canary, undefined, what);
          break;
        case 'weight': {
          const spec = canary as { weight: number; sticky?: { source: Source; name: string } };
          assert.equal(explained.weight, spec.weight, what);
          if (explained.sticky) {
            assert.ok(spec.sticky, what);
            assert.equal(
              explained.sticky.value,
              read(lookup, spec.sticky.source, explained.sticky.name),
              what,
            );
            assert.equal(explained.sticky.bucket, bucketOf(salt, explained.sticky.value), what);
            assert.equal(explained.sticky.bucket < spec.weight * BUCKETS, version === CANARY, what);
            assert.equal(explained.draw, undefined, what);
          } else {
            const d = explained.draw ?? assert.fail(`a draw is reported: ${what}`);
            assert.ok(d >= 0 && d < 1, what);
            assert.equal(d < spec.weight, version === CANARY, what);
          }
          break;
        }
        case 'rules': {
          const spec = canary as { match: 'all' | 'any'; rules: Record<string, unknown>[] };
          assert.equal(explained.match, spec.match, what);
          assert.equal(explained.conditions.length, spec.rules.length, what);
          explained.conditions.forEach((c, j) => {
            const rule = spec.rules[j] as { source: Source; name: string };
            assert.deepEqual(c.condition, rule, what);
            const name = rule.source === 'header' ? rule.name.toLowerCase() : rule.name;
            assert.equal(c.value, read(lookup, rule.source, name), what);
            // Each condition's verdict is what routing by that condition alone decides.
            const alone = compileRoute(
              parseAliasSpec({ version: '1', canary: { version: '2', rules: [rule as Condition] } }),
              salt,
            );
            assert.equal(c.holds, route(alone, lookup, draw) === CANARY, `${what}, condition ${j}`);
          });
          const holds = explained.conditions.map((c) => c.holds);
          assert.equal(
            spec.match === 'all' ? holds.every(Boolean) : holds.some(Boolean),
            version === CANARY,
            what,
          );
          break;
        }
      }
    }
    assert.deepEqual(
      [...seen].sort(),
      ['no canary/primary', 'rules/canary', 'rules/primary', 'weight/canary', 'weight/primary'],
      'every kind of explanation came up',
    );
  });

  test('names the matching condition of the seed rule, and the bucket of a sticky key', () => {
    const bob = alias({ version: '2', rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] });
    assert.deepEqual(explainRoute(bob, lookupOf({ header: { user: 'Bob' } }), Math.random), {
      version: CANARY,
      target: 'canary',
      reason: 'rules',
      match: 'all',
      conditions: [
        {
          condition: { source: 'header', name: 'User', op: '=', value: 'Bob' },
          value: 'Bob',
          from: 'header',
          holds: true,
        },
      ],
    });
    const sticky = alias({ version: '2', weight: 0.5, sticky: { source: 'header', name: 'X-User' } });
    const explained = explainRoute(sticky, lookupOf({ header: { 'x-user': 'user-0' } }), Math.random);
    assert.equal(explained.reason, 'weight');
    const key = explained.sticky ?? assert.fail('the sticky key is reported');
    assert.equal(key.source, 'header');
    assert.equal(key.name.toLowerCase(), 'x-user');
    assert.equal(key.value, 'user-0');
    assert.equal(key.bucket, 5539, 'the pinned bucket of user-0 in shop/release');
    assert.equal(explained.draw, undefined, 'no random draw for a sticky key');
    assert.equal(explained.version, PRIMARY, '5539 ≥ 5000');
  });
});
