import assert from 'node:assert/strict';
import { describe, type TestContext } from 'node:test';
import type { AliasSpec } from '../core/alias.js';
import { isSluiceError } from '../core/errors.js';
import type { ApiDefinition, RouteMethod, StageSpec } from '../core/api-gateway.js';
import type {
  AliasHistoryEntry,
  AliasRecord,
  ApiRecord,
  FunctionRecord,
  StageHistoryEntry,
  StageRecord,
  VersionRecord,
} from '../core/model.js';
import { DEFAULT_ALIAS, LATEST } from '../core/names.js';
import { emptyHistogram } from '../core/histogram.js';
import { parseRolloutRequest, type Rollout } from '../core/rollout.js';
import { type InvocationLog, type LogFilter, logText, type MetricRow, toMicros } from '../core/telemetry.js';
import type { Change, CodeBlob, IdempotencyClaim, Store, StoredResponse } from './store.js';
import { blob, clock, contractTest, type OpenedStore, rejectsWith } from './contract-support.js';
import { encodePageToken } from './paging.js';
import { config } from '../../test/support/config.js';
import { invocationLog } from '../../test/support/telemetry.js';

const codeRef = (b: CodeBlob) => ({ sha256: b.sha256, size: b.size });

async function allVersions(store: Store, name: string): Promise<VersionRecord[]> {
  const out: VersionRecord[] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.listVersions(
      name,
      nextToken === undefined ? { limit: 100 } : { limit: 100, nextToken },
    );
    out.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return out;
}

async function allFunctionNames(store: Store, limit: number, prefix?: string): Promise<string[][]> {
  const pages: string[][] = [];
  let nextToken: string | undefined;
  do {
    const page = await store.listFunctions({
      limit,
      ...(nextToken === undefined ? {} : { nextToken }),
      ...(prefix === undefined ? {} : { prefix }),
    });
    assert.ok(
      page.items.length <= limit,
      `a page holds ${page.items.length} items, more than the limit ${limit}`,
    );
    pages.push(page.items.map((f) => f.name));
    nextToken = page.nextToken;
    assert.ok(pages.length <= 100, 'paging does not end');
  } while (nextToken !== undefined);
  return pages;
}

interface Snapshot {
  fn: FunctionRecord | undefined;
  code?: Buffer | undefined;
  versions?: VersionRecord[];
  versionCode?: (Buffer | undefined)[];
  aliases?: AliasRecord[];
  history?: Record<string, AliasHistoryEntry[] | string>;
}

/** Everything the store holds about one function, to compare before and after a refused operation. */
async function snapshot(store: Store, name: string, extraAliases: readonly string[] = []): Promise<Snapshot> {
  const fn = await store.getFunction(name);
  if (!fn) return { fn };
  const versions = await allVersions(store, name);
  const aliases = await store.listAliases(name);
  const history: Record<string, AliasHistoryEntry[] | string> = {};
  for (const alias of new Set([...aliases.map((a) => a.name), ...extraAliases])) {
    history[alias] = await store.aliasHistory(name, alias).catch((error: unknown) => {
      if (isSluiceError(error)) return error.code;
      throw error;
    });
  }
  return {
    fn,
    code: await store.getCode(fn.code.sha256),
    versions,
    versionCode: await Promise.all(versions.map((v) => store.getCode(v.code.sha256))),
    aliases,
    history,
  };
}

const weight = (version: number | typeof LATEST, canary: number | typeof LATEST, w: number): AliasSpec => ({
  version,
  description: `weighted ${w}`,
  canary: { version: canary, weight: w },
});

const points = (version: number | typeof LATEST, description = ''): AliasSpec => ({ version, description });

/**
 * The behaviour every Store must have, whatever it keeps its data in. `open` gives each test a fresh, empty
 * store; the contract cleans it up.
 */
/**
 * Logs in the schema before log runs, for each store's migration test: the newest row is deleted, so that
 * the id counter the migration carries over is above every row left.
 */
export const LOGS_BEFORE_RUNS = `
  INSERT INTO invocation_logs (function_name, version_id, qualifier, request_id, at, duration_ms, outcome, error_code, text)
  VALUES ('f', '1', 'live', 'r1', 1000, 12.5, 'success', NULL,
           'Hello, "quoted"\nREPORT RequestId: r1 Version: 1 Duration: 12.50 ms Init Duration: 80.25 ms\n'),
         ('f', '2', NULL, NULL, 2000, NULL, 'instance', NULL, 'at load'),
         ('f', '2', 'live', 'r3', 3000, 1.25, 'functionError', 'Boom', 'REPORT RequestId: r3 Version: 2 Duration: 1.25 ms\n'),
         ('g', '1', 'live', 'r4', 4000, 1, 'success', NULL, 'newest');
  DELETE FROM invocation_logs WHERE function_name = 'g';`;

/**
 * Checks that a store migrated from LOGS_BEFORE_RUNS kept ids, fields and the id counter, and finds them; the
 * REPORT lines then written into the text come back as numbers, and whole in `logText`.
 */
export async function assertLogsMigrated(store: Store): Promise<void> {
  const logs = await store.queryLogs('f', { limit: 10 });
  assert.deepEqual(
    logs.map((l) => [
      l.id,
      l.versionId,
      l.qualifier,
      l.requestId,
      l.at,
      l.durationMs,
      l.initDurationMs,
      l.outcome,
      l.errorCode,
      l.text,
    ]),
    [
      [1, '1', 'live', 'r1', 1000, 12.5, 80.25, 'success', undefined, 'Hello, "quoted"\n'],
      [2, '2', undefined, undefined, 2000, undefined, undefined, 'instance', undefined, 'at load'],
      [3, '2', 'live', 'r3', 3000, 1.25, undefined, 'functionError', 'Boom', ''],
    ],
  );
  assert.deepEqual(logs.map(logText), [
    'Hello, "quoted"\nREPORT RequestId: r1 Version: 1 Duration: 12.50 ms Init Duration: 80.25 ms\n',
    'at load',
    'REPORT RequestId: r3 Version: 2 Duration: 1.25 ms\n',
  ]);
  const ids = async (filter: Omit<LogFilter, 'limit'>) =>
    (await store.queryLogs('f', { limit: 10, ...filter })).map((l) => l.id);
  assert.deepEqual(await ids({ text: 'HELLO, "' }), [1]);
  assert.deepEqual(
    await ids({ text: 'quoted"\nREPORT RequestId: r1 Version: 1 Duration: 12.50 ms Init' }),
    [1],
  );
  assert.deepEqual(await ids({ text: 'Duration: 1.25 ms' }), [3]);
  assert.deepEqual(await ids({ versionId: '2', qualifier: 'live' }), [3]);
  assert.deepEqual(await ids({ requestId: 'r3' }), [3]);
  await store.appendLogs([{ ...(logs[0] as InvocationLog), requestId: 'after' }]);
  const newest = await store.queryLogs('f', { limit: 1, newestFirst: true });
  assert.ok((newest[0]?.id ?? 0) > 4, `an id never given before: ${newest[0]?.id}`);
}

export function storeContract(label: string, open: () => Promise<OpenedStore>): void {
  interface Harness extends OpenedStore {
    change: (actor?: string) => Change;
  }

  const run = contractTest(open);
  const test = (name: string, body: (h: Harness, t: TestContext) => Promise<void>): void => {
    run(name, (_store, opened, t) => body({ ...opened, change: clock() }, t));
  };

  /** Creates `name` with `versions` published versions, each of its own code (`<name>-v<n>`). */
  const withVersions = async (h: Harness, name: string, versions: number): Promise<VersionRecord[]> => {
    const published: VersionRecord[] = [];
    await h.store.createFunction(name, config(), blob(`${name}-v1`), h.change());
    for (let n = 1; n <= versions; n++) {
      if (n > 1) await h.store.updateFunction(name, { code: blob(`${name}-v${n}`) }, h.change());
      published.push(await h.store.publishVersion(name, `v${n}`, h.change()));
    }
    return published;
  };

  void describe(label, () => {
    void describe('functions', () => {
      test('createFunction stores $LATEST and a $DEFAULT alias to it at revision 1, with a create entry', async (h) => {
        const code = blob('a');
        const change = h.change('alice');
        const fn = await h.store.createFunction('f', config({ memorySize: 256 }), code, change);
        const expected: FunctionRecord = {
          name: 'f',
          config: config({ memorySize: 256 }),
          trigger: { authType: 'token' },
          code: codeRef(code),
          createdAt: change.now,
          updatedAt: change.now,
        };
        assert.deepEqual(fn, expected);
        assert.deepEqual(await h.store.getFunction('f'), expected);
        assert.deepEqual(await h.store.getCode(code.sha256), code.zip);
        const defaultSpec = { version: LATEST, description: '' };
        assert.deepEqual(await h.store.listAliases('f'), [
          {
            functionName: 'f',
            name: DEFAULT_ALIAS,
            spec: defaultSpec,
            revision: 1,
            createdAt: change.now,
            updatedAt: change.now,
          },
        ]);
        assert.deepEqual(await h.store.getAlias('f', DEFAULT_ALIAS), (await h.store.listAliases('f'))[0]);
        assert.deepEqual(await h.store.aliasHistory('f', DEFAULT_ALIAS), [
          {
            functionName: 'f',
            alias: DEFAULT_ALIAS,
            revision: 1,
            action: 'create',
            actor: 'alice',
            at: change.now,
            before: null,
            after: defaultSpec,
          },
        ]);
        assert.deepEqual(await h.store.listVersions('f', { limit: 10 }), { items: [] });
      });

      test('createFunction refuses a name that exists, and stores nothing of the attempt', async (h) => {
        await h.store.createFunction('f', config(), blob('a'), h.change());
        const before = await snapshot(h.store, 'f');
        const other = blob('b');
        await rejectsWith(
          h.store.createFunction('f', config({ timeout: 9 }), other, h.change()),
          'FunctionAlreadyExists',
        );
        assert.deepEqual(await snapshot(h.store, 'f'), before);
        assert.equal(
          await h.store.getCode(other.sha256),
          undefined,
          'the refused function left its code behind',
        );
      });

      test('listFunctions pages by name with limit and nextToken, and filters by prefix', async (h) => {
        const names = ['web-c', 'app-2', 'web-a', 'app-1', 'web-d', 'app-3', 'web-b'];
        for (const name of names)
          await h.store.createFunction(name, config({ description: name }), blob(name), h.change());
        const sorted = [...names].sort();

        const pages = await allFunctionNames(h.store, 3);
        assert.deepEqual(
          pages.map((p) => p.length),
          [3, 3, 1],
        );
        assert.deepEqual(pages.flat(), sorted);

        const first = await h.store.listFunctions({ limit: 3 });
        assert.ok(first.nextToken !== undefined);
        assert.deepEqual(first.items[0], await h.store.getFunction('app-1'));
        const second = await h.store.listFunctions({ limit: 3, nextToken: first.nextToken });
        assert.deepEqual(
          second.items.map((f) => f.name),
          ['web-a', 'web-b', 'web-c'],
        );

        assert.deepEqual(await allFunctionNames(h.store, 3, 'web-'), [
          ['web-a', 'web-b', 'web-c'],
          ['web-d'],
        ]);
        assert.deepEqual(
          await allFunctionNames(h.store, 3, 'app-'),
          [['app-1', 'app-2', 'app-3']],
          'a page that holds the last items has no nextToken',
        );
        assert.deepEqual(await allFunctionNames(h.store, 2, 'app-'), [['app-1', 'app-2'], ['app-3']]);
        assert.deepEqual(await allFunctionNames(h.store, 3, 'zzz'), [[]]);
        assert.deepEqual(await allFunctionNames(h.store, 100, 'web-b'), [['web-b']]);
        assert.deepEqual(await allFunctionNames(h.store, 100, 'WEB-'), [[]], 'the prefix is case-sensitive');
      });

      test('the HTTP trigger setting defaults to token, changes alone, and is no part of versions', async (h) => {
        await h.store.createFunction('f', config(), blob('a'), h.change());
        assert.deepEqual((await h.store.getFunction('f'))?.trigger, { authType: 'token' });
        const before = await h.store.getFunction('f');
        const after = await h.store.updateFunction('f', { trigger: { authType: 'anonymous' } }, h.change());
        assert.deepEqual(after.trigger, { authType: 'anonymous' });
        assert.deepEqual(after.config, before?.config);
        assert.deepEqual(after.code, before?.code);
        await rejectsWith(
          h.store.publishVersion('f', '', h.change()).then(() => h.store.publishVersion('f', '', h.change())),
          'NothingToPublish',
        );
      });

      test('updateFunction changes $LATEST only: its config, its code, or both', async (h) => {
        const created = h.change();
        await h.store.createFunction('f', config(), blob('a'), created);
        const v1 = await h.store.publishVersion('f', 'first', h.change());
        await h.store.putAlias('f', 'live', points(1), h.change());
        const aliases = await h.store.listAliases('f');
        const history = await h.store.aliasHistory('f', 'live');

        const c1 = h.change();
        const afterConfig = await h.store.updateFunction('f', { config: config({ timeout: 30 }) }, c1);
        assert.deepEqual(afterConfig, {
          name: 'f',
          trigger: { authType: 'token' },
          config: config({ timeout: 30 }),
          code: codeRef(blob('a')),
          createdAt: created.now,
          updatedAt: c1.now,
        });

        const c2 = h.change();
        const afterCode = await h.store.updateFunction('f', { code: blob('b') }, c2);
        assert.deepEqual(afterCode, { ...afterConfig, code: codeRef(blob('b')), updatedAt: c2.now });

        const c3 = h.change();
        const afterBoth = await h.store.updateFunction(
          'f',
          { config: config({ handler: 'main.run' }), code: blob('c') },
          c3,
        );
        assert.deepEqual(afterBoth, {
          ...afterConfig,
          config: config({ handler: 'main.run' }),
          code: codeRef(blob('c')),
          updatedAt: c3.now,
        });
        assert.deepEqual(await h.store.getFunction('f'), afterBoth);
        assert.deepEqual(await h.store.getCode(blob('c').sha256), blob('c').zip);

        assert.deepEqual(await allVersions(h.store, 'f'), [v1], 'updating $LATEST changed a version');
        assert.deepEqual(
          await h.store.getCode(blob('a').sha256),
          blob('a').zip,
          'code version 1 uses was lost',
        );
        assert.deepEqual(await h.store.listAliases('f'), aliases, 'updating $LATEST changed an alias');
        assert.deepEqual(await h.store.aliasHistory('f', 'live'), history);
      });

      test('every method refuses a function that does not exist, or no longer does', async (h) => {
        await withVersions(h, 'other', 2);
        await h.store.putAlias('other', 'live', points(1), h.change());
        const other = await snapshot(h.store, 'other');

        const gone = await withVersions(h, 'gone', 2);
        await h.store.putAlias('gone', 'live', weight(2, 1, 0.5), h.change());
        await h.store.deleteFunction('gone');
        for (const v of gone) {
          assert.equal(
            await h.store.getCode(v.code.sha256),
            undefined,
            'a deleted function left its code behind',
          );
        }

        for (const name of ['missing', 'gone']) {
          const c = h.change();
          await rejectsWith(h.store.updateFunction(name, { config: config() }, c), 'FunctionNotFound');
          await rejectsWith(h.store.updateFunction(name, { code: blob('x') }, c), 'FunctionNotFound');
          await rejectsWith(h.store.deleteFunction(name), 'FunctionNotFound');
          await rejectsWith(h.store.publishVersion(name, '', c), 'FunctionNotFound');
          await rejectsWith(h.store.listVersions(name, { limit: 10 }), 'FunctionNotFound');
          await rejectsWith(h.store.deleteVersion(name, 1), 'FunctionNotFound');
          await rejectsWith(h.store.putAlias(name, 'live', points(LATEST), c), 'FunctionNotFound');
          await rejectsWith(h.store.putAlias(name, DEFAULT_ALIAS, points(LATEST), c), 'FunctionNotFound');
          await rejectsWith(h.store.listAliases(name), 'FunctionNotFound');
          await rejectsWith(h.store.deleteAlias(name, 'live', c), 'FunctionNotFound');
          await rejectsWith(h.store.aliasHistory(name, 'live'), 'FunctionNotFound');
          await rejectsWith(h.store.aliasHistory(name, DEFAULT_ALIAS), 'FunctionNotFound');
          await rejectsWith(h.store.rollbackAlias(name, 'live', { to: 'previous' }, c), 'FunctionNotFound');
          assert.equal(await h.store.getFunction(name), undefined);
          assert.equal(await h.store.getVersion(name, 1), undefined);
          assert.equal(await h.store.getAlias(name, DEFAULT_ALIAS), undefined);
          assert.equal(await h.store.getAlias(name, 'live'), undefined);
        }
        assert.equal(await h.store.getCode(blob('x').sha256), undefined);
        assert.deepEqual(
          (await h.store.listFunctions({ limit: 10 })).items.map((f) => f.name),
          ['other'],
        );
        assert.deepEqual(await snapshot(h.store, 'other'), other, 'refusals changed another function');
      });

      test('listFunctionNames lists names in order after a name, a page at a time', async (h) => {
        const names = ['b', 'a-2', 'c', 'a-1', 'a'];
        for (const name of names) await h.store.createFunction(name, config(), blob(name), h.change());
        assert.deepEqual(await h.store.listFunctionNames({ limit: 10 }), ['a', 'a-1', 'a-2', 'b', 'c']);
        assert.deepEqual(await h.store.listFunctionNames({ limit: 2 }), ['a', 'a-1']);
        assert.deepEqual(await h.store.listFunctionNames({ after: 'a-1', limit: 2 }), ['a-2', 'b']);
        assert.deepEqual(await h.store.listFunctionNames({ after: 'a-0', limit: 10 }), [
          'a-1',
          'a-2',
          'b',
          'c',
        ]);
        assert.deepEqual(await h.store.listFunctionNames({ after: 'c', limit: 10 }), []);
        await h.store.deleteFunction('b');
        assert.deepEqual(await h.store.listFunctionNames({ after: 'a-2', limit: 10 }), ['c']);
      });

      test('getFunctionStates reads each named function with its versions and aliases, as the single reads do', async (h) => {
        await withVersions(h, 'many', 120);
        await h.store.putAlias('many', 'live', weight(120, 7, 0.25), h.change());
        await h.store.putAlias('many', 'beta', points(LATEST), h.change());
        await h.store.createFunction('bare', config(), blob('bare'), h.change());
        await withVersions(h, 'unread', 1);

        const states = await h.store.getFunctionStates(['many', 'bare', 'missing']);
        assert.deepEqual([...states.keys()].sort(), ['bare', 'many'], 'a missing function has no state');
        for (const name of ['many', 'bare']) {
          const versions = [];
          let nextToken: string | undefined;
          do {
            const page = await h.store.listVersions(name, { limit: 50, ...(nextToken && { nextToken }) });
            versions.push(...page.items);
            nextToken = page.nextToken;
          } while (nextToken !== undefined);
          assert.deepEqual(states.get(name), {
            fn: await h.store.getFunction(name),
            versions,
            aliases: await h.store.listAliases(name),
          });
        }
        assert.equal(states.get('many')?.versions.length, 120);
        assert.deepEqual(await h.store.getFunctionStates([]), new Map());
      });
    });

    void describe('versions', () => {
      test('publishVersion numbers versions 1, 2, 3, each a snapshot of $LATEST that later updates leave alone', async (h) => {
        await h.store.createFunction('f', config(), blob('a'), h.change());
        const c1 = h.change();
        const v1 = await h.store.publishVersion('f', 'first', c1);
        assert.deepEqual(v1, {
          functionName: 'f',
          version: 1,
          description: 'first',
          config: config(),
          code: codeRef(blob('a')),
          createdAt: c1.now,
        });

        await h.store.updateFunction('f', { code: blob('b') }, h.change());
        const c2 = h.change();
        const v2 = await h.store.publishVersion('f', 'new code', c2);
        assert.deepEqual(v2, {
          ...v1,
          version: 2,
          description: 'new code',
          code: codeRef(blob('b')),
          createdAt: c2.now,
        });

        await h.store.updateFunction(
          'f',
          { config: config({ environmentVariables: { MODE: 'x' } }) },
          h.change(),
        );
        const c3 = h.change();
        const v3 = await h.store.publishVersion('f', 'new config', c3);
        assert.deepEqual(v3, {
          ...v2,
          version: 3,
          description: 'new config',
          config: config({ environmentVariables: { MODE: 'x' } }),
          createdAt: c3.now,
        });

        await h.store.updateFunction(
          'f',
          { config: config({ memorySize: 512 }), code: blob('c') },
          h.change(),
        );
        for (const v of [v1, v2, v3]) assert.deepEqual(await h.store.getVersion('f', v.version), v);
        assert.deepEqual(await allVersions(h.store, 'f'), [v1, v2, v3]);
        assert.deepEqual(await h.store.getCode(v1.code.sha256), blob('a').zip);
        assert.deepEqual(await h.store.getCode(v2.code.sha256), blob('b').zip);
        assert.equal(await h.store.getVersion('f', 4), undefined);
      });

      test('publishVersion refuses when nothing changed since the newest version, and writes nothing', async (h) => {
        await h.store.createFunction('f', config(), blob('a'), h.change());
        const v1 = await h.store.publishVersion('f', 'first', h.change());
        const before = await snapshot(h.store, 'f');

        const refusal = await rejectsWith(
          h.store.publishVersion('f', 'again', h.change()),
          'NothingToPublish',
        );
        assert.match(refusal.message, /version 1/);
        assert.deepEqual(await snapshot(h.store, 'f'), before);

        // Writing the same values again, or changing them and back, is still no change.
        await h.store.updateFunction('f', { config: config(), code: blob('a') }, h.change());
        await rejectsWith(h.store.publishVersion('f', 'again', h.change()), 'NothingToPublish');
        await h.store.updateFunction('f', { config: config({ timeout: 60 }), code: blob('z') }, h.change());
        await h.store.updateFunction('f', { config: config(), code: blob('a') }, h.change());
        await rejectsWith(h.store.publishVersion('f', 'again', h.change()), 'NothingToPublish');
        assert.deepEqual(await allVersions(h.store, 'f'), [v1], 'a refused publish wrote a version');

        await h.store.updateFunction('f', { config: config({ timeout: 60 }) }, h.change());
        const v2 = await h.store.publishVersion('f', 'second', h.change());
        assert.equal(v2.version, 2, 'a refused publish used up a number');
      });

      test('version numbers are never reused after the newest version is deleted', async (h) => {
        const [v1] = await withVersions(h, 'f', 2);
        await h.store.deleteVersion('f', 2);
        assert.equal(await h.store.getVersion('f', 2), undefined);
        assert.deepEqual(await allVersions(h.store, 'f'), [v1]);

        const v3 = await h.store.publishVersion('f', 'after delete', h.change());
        assert.equal(v3.version, 3);
        assert.deepEqual(v3.code, codeRef(blob('f-v2')));

        await h.store.deleteVersion('f', 3);
        await h.store.deleteVersion('f', 1);
        assert.deepEqual(await allVersions(h.store, 'f'), []);
        const v4 = await h.store.publishVersion('f', 'after deleting all', h.change());
        assert.equal(v4.version, 4);
        assert.deepEqual(
          (await allVersions(h.store, 'f')).map((v) => v.version),
          [4],
        );
      });

      test('a function deleted and created again under its name continues past the old version numbers', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(2), h.change());
        await h.store.deleteFunction('f');

        await h.store.createFunction('f', config({ timeout: 5 }), blob('new'), h.change());
        assert.deepEqual(await allVersions(h.store, 'f'), [], 'versions of the old function survived');
        assert.equal(await h.store.getAlias('f', 'live'), undefined, 'aliases of the old function survived');
        assert.equal(await h.store.getVersion('f', 1), undefined);
        const v = await h.store.publishVersion('f', 'reborn', h.change());
        assert.equal(v.version, 3);
        assert.deepEqual(v.config, config({ timeout: 5 }));
      });

      test('listVersions pages through versions in order', async (h) => {
        const published = await withVersions(h, 'f', 5);
        const first = await h.store.listVersions('f', { limit: 2 });
        assert.deepEqual(first.items, published.slice(0, 2));
        assert.ok(first.nextToken !== undefined);
        const second = await h.store.listVersions('f', { limit: 2, nextToken: first.nextToken });
        assert.deepEqual(second.items, published.slice(2, 4));
        assert.ok(second.nextToken !== undefined);
        const third = await h.store.listVersions('f', { limit: 2, nextToken: second.nextToken });
        assert.deepEqual(third, { items: published.slice(4) });

        await h.store.deleteVersion('f', 3);
        const all = await h.store.listVersions('f', { limit: 10 });
        assert.deepEqual(
          all.items.map((v) => v.version),
          [1, 2, 4, 5],
        );
        assert.equal(all.nextToken, undefined);
      });

      test('a page token the store did not give is refused, for functions and versions alike', async (h) => {
        await withVersions(h, 'f', 3);
        const versionsToken = (await h.store.listVersions('f', { limit: 1 })).nextToken;
        for (const nextToken of ['garbage', '', 'e30', Buffer.from('{"after":1}').toString('base64url')]) {
          await rejectsWith(h.store.listFunctions({ limit: 10, nextToken }), 'InvalidArgument');
          await rejectsWith(h.store.listVersions('f', { limit: 10, nextToken }), 'InvalidArgument');
        }
        // A name is no version number.
        await rejectsWith(
          h.store.listVersions('f', { limit: 10, nextToken: encodePageToken('f') }),
          'InvalidArgument',
        );
        assert.equal(
          (await h.store.listVersions('f', { limit: 10, nextToken: versionsToken as string })).items.length,
          2,
        );
      });

      test('deleteVersion refuses a version that does not exist, and changes nothing', async (h) => {
        await withVersions(h, 'f', 1);
        await h.store.updateFunction('f', { code: blob('b') }, h.change());
        const before = await snapshot(h.store, 'f');
        await rejectsWith(h.store.deleteVersion('f', 2), 'VersionNotFound');
        await rejectsWith(h.store.deleteVersion('f', 0), 'VersionNotFound');
        assert.deepEqual(await snapshot(h.store, 'f'), before);
        await h.store.deleteVersion('f', 1);
        await rejectsWith(h.store.deleteVersion('f', 1), 'VersionNotFound');
      });

      test('20 concurrent publishes interleaved with updates get unique numbers in order', async (h) => {
        await h.store.createFunction('f', config(), blob('start'), h.change());
        const operations: Promise<unknown>[] = [];
        const publishes: Promise<VersionRecord>[] = [];
        for (let i = 0; i < 20; i++) {
          operations.push(h.store.updateFunction('f', { code: blob(`c${i}`) }, h.change()));
          const publish = h.store.publishVersion('f', `p${i}`, h.change());
          publishes.push(publish);
          operations.push(publish);
        }
        const settled = await Promise.allSettled(operations);
        for (const result of settled) {
          if (result.status === 'rejected') {
            // A publish may find nothing new when another one got there first; nothing else may fail.
            assert.ok(
              isSluiceError(result.reason) && result.reason.code === 'NothingToPublish',
              String(result.reason),
            );
          }
        }
        const won = (await Promise.allSettled(publishes)).flatMap((r) =>
          r.status === 'fulfilled' ? [r.value] : [],
        );
        assert.ok(won.length > 0, 'no publish succeeded');
        const numbers = won.map((v) => v.version).sort((a, b) => a - b);
        assert.deepEqual(
          numbers,
          numbers.map((_, i) => i + 1),
          'numbers are not 1..n without gaps or repeats',
        );
        const stored = await allVersions(h.store, 'f');
        assert.deepEqual(
          stored,
          [...won].sort((a, b) => a.version - b.version),
        );
        // Sent together, the first publish may commit before any update (on PostgreSQL, each on a connection
        // of its own): version 1 may then hold the code the function was created with.
        const written = new Map(
          [blob('start'), ...Array.from({ length: 20 }, (_, i) => blob(`c${i}`))].map((b) => [b.sha256, b]),
        );
        for (const [i, v] of stored.entries()) {
          const code = written.get(v.code.sha256);
          assert.ok(code, `version ${v.version} holds code no update wrote`);
          assert.deepEqual(await h.store.getCode(v.code.sha256), code.zip);
          const previous = stored[i - 1];
          if (previous)
            assert.notEqual(
              previous.code.sha256,
              v.code.sha256,
              'two successive versions hold the same code',
            );
        }
      });
    });

    void describe('immutability', () => {
      test('published versions, code blobs and alias history cannot be changed, even behind the store', async (h, t) => {
        if (!h.tamper) {
          t.skip('this backend offers no raw access to its database');
          return;
        }
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.putAlias('f', 'live', weight(1, 2, 0.25), h.change());
        const before = await snapshot(h.store, 'f');

        await h.tamper("UPDATE functions SET updated_at = updated_at WHERE name = 'f'");
        await assert.rejects(
          h.tamper("UPDATE versions SET description = 'tampered' WHERE function_name = 'f'"),
        );
        await assert.rejects(h.tamper('UPDATE versions SET version = version + 100'));
        await assert.rejects(h.tamper('UPDATE code_blobs SET size = size + 1'));
        await assert.rejects(h.tamper("UPDATE code_blobs SET sha256 = 'tampered'"));
        await assert.rejects(
          h.tamper("UPDATE alias_history SET actor = 'mallory' WHERE function_name = 'f'"),
        );
        assert.deepEqual(await snapshot(h.store, 'f'), before);
      });
    });

    void describe('code', () => {
      test('functions and versions with the same code share one blob, removed once nothing uses it', async (h) => {
        const shared = blob('shared');
        await h.store.createFunction('f1', config(), shared, h.change());
        await h.store.createFunction('f2', config({ timeout: 10 }), blob('shared'), h.change());
        assert.deepEqual((await h.store.getFunction('f1'))?.code, (await h.store.getFunction('f2'))?.code);
        assert.deepEqual(await h.store.getCode(shared.sha256), shared.zip);

        const v1 = await h.store.publishVersion('f1', '', h.change());
        assert.deepEqual(v1.code, codeRef(shared));
        await h.store.updateFunction('f1', { code: blob('y') }, h.change());
        await h.store.deleteFunction('f2');
        assert.deepEqual(
          await h.store.getCode(shared.sha256),
          shared.zip,
          'code a version still uses was removed',
        );

        await h.store.deleteVersion('f1', 1);
        assert.equal(await h.store.getCode(shared.sha256), undefined, 'code nothing uses was kept');
        assert.deepEqual(await h.store.getCode(blob('y').sha256), blob('y').zip);

        await h.store.updateFunction('f1', { code: blob('z') }, h.change());
        assert.equal(
          await h.store.getCode(blob('y').sha256),
          undefined,
          'code $LATEST no longer uses was kept',
        );
        assert.deepEqual(await h.store.getCode(blob('z').sha256), blob('z').zip);

        // Code that comes back after it was removed is stored anew.
        await h.store.updateFunction('f1', { code: blob('shared') }, h.change());
        assert.deepEqual(await h.store.getCode(shared.sha256), shared.zip);
      });

      test('deleting a function removes the code of its $LATEST and versions, unless another function uses it', async (h) => {
        const published = await withVersions(h, 'f', 3);
        assert.deepEqual(
          published.map((v) => v.code.sha256),
          ['f-v1', 'f-v2', 'f-v3'].map((text) => blob(text).sha256),
        );
        await h.store.updateFunction('f', { code: blob('latest') }, h.change());
        await h.store.createFunction('g', config(), blob('f-v2'), h.change());
        await h.store.deleteFunction('f');
        assert.equal(await h.store.getCode(blob('f-v1').sha256), undefined);
        assert.deepEqual(await h.store.getCode(blob('f-v2').sha256), blob('f-v2').zip);
        assert.equal(await h.store.getCode(blob('f-v3').sha256), undefined);
        assert.equal(await h.store.getCode(blob('latest').sha256), undefined);
      });
    });

    void describe('aliases', () => {
      test('putAlias creates and updates an alias at revisions 1, 2, 3 and records who, when, before and after', async (h) => {
        await withVersions(h, 'f', 2);
        const c1 = h.change('alice');
        const s1 = points(1, 'stable');
        const r1 = await h.store.putAlias('f', 'live', s1, c1);
        assert.deepEqual(r1, {
          created: true,
          alias: {
            functionName: 'f',
            name: 'live',
            spec: s1,
            revision: 1,
            createdAt: c1.now,
            updatedAt: c1.now,
          },
        });

        const c2 = h.change('bob');
        const s2 = weight(2, 1, 0.1);
        const r2 = await h.store.putAlias('f', 'live', s2, { ...c2, expectedRevision: 1 });
        assert.deepEqual(r2, {
          created: false,
          alias: { ...r1.alias, spec: s2, revision: 2, updatedAt: c2.now },
        });

        const c3 = h.change('carol');
        const s3: AliasSpec = {
          version: 1,
          description: 'beta testers',
          canary: {
            version: LATEST,
            match: 'any',
            rules: [{ source: 'header', name: 'x-beta', op: '=', value: '1' }],
          },
        };
        const r3 = await h.store.putAlias('f', 'live', s3, c3);
        assert.deepEqual(r3, {
          created: false,
          alias: { ...r1.alias, spec: s3, revision: 3, updatedAt: c3.now },
        });

        assert.deepEqual(await h.store.getAlias('f', 'live'), r3.alias);
        assert.deepEqual(
          (await h.store.listAliases('f')).map((a) => a.name),
          [DEFAULT_ALIAS, 'live'],
        );
        const entry = { functionName: 'f', alias: 'live' };
        assert.deepEqual(await h.store.aliasHistory('f', 'live'), [
          { ...entry, revision: 1, action: 'create', actor: 'alice', at: c1.now, before: null, after: s1 },
          { ...entry, revision: 2, action: 'update', actor: 'bob', at: c2.now, before: s1, after: s2 },
          { ...entry, revision: 3, action: 'update', actor: 'carol', at: c3.now, before: s2, after: s3 },
        ]);
        await rejectsWith(h.store.aliasHistory('f', 'never'), 'AliasNotFound');
      });

      test('createOnly refuses an alias that exists, and changes nothing', async (h) => {
        await withVersions(h, 'f', 2);
        const created = await h.store.putAlias('f', 'live', points(1), { ...h.change(), createOnly: true });
        assert.equal(created.created, true);
        const before = await snapshot(h.store, 'f');
        await rejectsWith(
          h.store.putAlias('f', 'live', points(2), { ...h.change(), createOnly: true }),
          'AliasAlreadyExists',
        );
        await rejectsWith(
          h.store.putAlias('f', DEFAULT_ALIAS, points(2), { ...h.change(), createOnly: true }),
          'AliasAlreadyExists',
        );
        assert.deepEqual(await snapshot(h.store, 'f'), before);
      });

      test('a stale expectedRevision is refused with AliasConflict, and changes nothing', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.putAlias('f', 'live', points(2), { ...h.change(), expectedRevision: 1 });
        const before = await snapshot(h.store, 'f', ['ghost']);

        await rejectsWith(
          h.store.putAlias('f', 'live', points(LATEST), { ...h.change(), expectedRevision: 1 }),
          'AliasConflict',
        );
        await rejectsWith(
          h.store.putAlias('f', 'live', points(LATEST), { ...h.change(), expectedRevision: 3 }),
          'AliasConflict',
        );
        await rejectsWith(
          h.store.putAlias('f', 'ghost', points(1), { ...h.change(), expectedRevision: 1 }),
          'AliasConflict',
        );
        await rejectsWith(
          h.store.deleteAlias('f', 'live', { ...h.change(), expectedRevision: 1 }),
          'AliasConflict',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'previous' }, { ...h.change(), expectedRevision: 1 }),
          'AliasConflict',
        );
        assert.deepEqual(await snapshot(h.store, 'f', ['ghost']), before);
        assert.equal(await h.store.getAlias('f', 'ghost'), undefined);

        const fresh = await h.store.putAlias('f', 'live', points(LATEST), {
          ...h.change(),
          expectedRevision: 2,
        });
        assert.equal(fresh.alias.revision, 3);
      });

      test('an alias cannot point at a version that does not exist, and nothing is stored', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.deleteVersion('f', 2);
        const before = await snapshot(h.store, 'f', ['new']);

        await rejectsWith(h.store.putAlias('f', 'new', points(7), h.change()), 'VersionNotFound');
        await rejectsWith(h.store.putAlias('f', 'new', points(2), h.change()), 'VersionNotFound');
        await rejectsWith(h.store.putAlias('f', 'live', points(2), h.change()), 'VersionNotFound');
        await rejectsWith(h.store.putAlias('f', 'live', weight(1, 9, 0.5), h.change()), 'VersionNotFound');
        await rejectsWith(
          h.store.putAlias('f', DEFAULT_ALIAS, weight(LATEST, 2, 0.5), h.change()),
          'VersionNotFound',
        );
        assert.deepEqual(await snapshot(h.store, 'f', ['new']), before);
        assert.equal(await h.store.getAlias('f', 'new'), undefined);
        await rejectsWith(h.store.aliasHistory('f', 'new'), 'AliasNotFound');
      });

      test('deleteVersion refuses a version an alias uses, naming the aliases, and keeps it', async (h) => {
        await withVersions(h, 'f', 3);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.putAlias('f', 'beta', weight(2, 1, 0.5), h.change());
        await h.store.putAlias('f', DEFAULT_ALIAS, points(3), h.change());
        const before = await snapshot(h.store, 'f');

        const users = async (version: number): Promise<string[]> => {
          const error = await rejectsWith(h.store.deleteVersion('f', version), 'VersionInUse');
          const aliases = (error.details as { aliases?: unknown } | undefined)?.aliases;
          assert.ok(Array.isArray(aliases), 'VersionInUse names no aliases in its details');
          for (const alias of aliases)
            assert.ok(error.message.includes(String(alias)), `message omits ${String(alias)}`);
          return (aliases as string[]).sort();
        };
        assert.deepEqual(await users(1), ['beta', 'live'], 'a canary or a primary referrer is missing');
        assert.deepEqual(await users(2), ['beta']);
        assert.deepEqual(await users(3), [DEFAULT_ALIAS]);
        assert.deepEqual(await snapshot(h.store, 'f'), before);

        await h.store.putAlias('f', 'beta', points(2), h.change());
        assert.deepEqual(await users(1), ['live']);
        await h.store.deleteAlias('f', 'live', h.change());
        await h.store.deleteVersion('f', 1);
        assert.equal(await h.store.getVersion('f', 1), undefined);
      });

      test('$DEFAULT can be repointed but not deleted', async (h) => {
        await withVersions(h, 'f', 1);
        const before = await snapshot(h.store, 'f');
        await rejectsWith(h.store.deleteAlias('f', DEFAULT_ALIAS, h.change()), 'DefaultAliasProtected');
        await rejectsWith(
          h.store.deleteAlias('f', DEFAULT_ALIAS, { ...h.change(), expectedRevision: 1 }),
          'DefaultAliasProtected',
        );
        assert.deepEqual(await snapshot(h.store, 'f'), before);

        const repointed = await h.store.putAlias('f', DEFAULT_ALIAS, weight(LATEST, 1, 0.3), {
          ...h.change(),
          expectedRevision: 1,
        });
        assert.deepEqual(
          [repointed.created, repointed.alias.revision, repointed.alias.spec],
          [false, 2, weight(LATEST, 1, 0.3)],
        );
      });

      test('deleting an alias is recorded, and creating it again continues its revision numbers', async (h) => {
        await withVersions(h, 'f', 2);
        const s1 = points(1);
        const s2 = points(2);
        await h.store.putAlias('f', 'live', s1, h.change());
        await h.store.putAlias('f', 'live', s2, h.change());
        const del = h.change('dave');
        await h.store.deleteAlias('f', 'live', { ...del, expectedRevision: 2 });
        assert.equal(await h.store.getAlias('f', 'live'), undefined);
        assert.deepEqual(
          (await h.store.listAliases('f')).map((a) => a.name),
          [DEFAULT_ALIAS],
        );
        const history = await h.store.aliasHistory('f', 'live');
        assert.deepEqual(history[2], {
          functionName: 'f',
          alias: 'live',
          revision: 3,
          action: 'delete',
          actor: 'dave',
          at: del.now,
          before: s2,
          after: null,
        });
        await rejectsWith(h.store.deleteAlias('f', 'live', h.change()), 'AliasNotFound');
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'previous' }, h.change()),
          'AliasNotFound',
        );
        assert.deepEqual(await h.store.aliasHistory('f', 'live'), history);
        await h.store.deleteVersion('f', 2);

        const again = h.change();
        const recreated = await h.store.putAlias('f', 'live', s1, again);
        assert.deepEqual(recreated, {
          created: true,
          alias: {
            functionName: 'f',
            name: 'live',
            spec: s1,
            revision: 4,
            createdAt: again.now,
            updatedAt: again.now,
          },
        });
        assert.deepEqual(
          (await h.store.aliasHistory('f', 'live')).map((e) => [e.revision, e.action]),
          [
            [1, 'create'],
            [2, 'update'],
            [3, 'delete'],
            [4, 'create'],
          ],
        );
      });

      test('rollbackAlias returns to the previous configuration, to the primary alone, or to a revision', async (h) => {
        await withVersions(h, 'f', 2);
        const s1 = points(1, 'one');
        const s2 = weight(2, 1, 0.2);
        await h.store.putAlias('f', 'live', s1, h.change());
        await h.store.putAlias('f', 'live', s2, h.change());

        const c3 = h.change('erin');
        const r3 = await h.store.rollbackAlias(
          'f',
          'live',
          { to: 'primary' },
          { ...c3, expectedRevision: 2 },
        );
        const s3 = { version: 2, description: s2.description };
        assert.deepEqual([r3.revision, r3.spec, r3.updatedAt], [3, s3, c3.now]);

        const r4 = await h.store.rollbackAlias('f', 'live', { to: 'previous' }, h.change());
        assert.deepEqual([r4.revision, r4.spec], [4, s2]);

        const c5 = h.change('frank');
        const r5 = await h.store.rollbackAlias('f', 'live', { to: 'revision', revision: 1 }, c5);
        assert.deepEqual([r5.revision, r5.spec], [5, s1]);
        assert.deepEqual(await h.store.getAlias('f', 'live'), r5);
        const history = await h.store.aliasHistory('f', 'live');
        assert.deepEqual(
          history.slice(2).map((e) => [e.revision, e.action, e.actor, e.before, e.after]),
          [
            [3, 'rollback', 'erin', s2, s3],
            [4, 'rollback', 'tester', s3, s2],
            [5, 'rollback', 'frank', s2, s1],
          ],
        );
        assert.equal(history[4]?.at, c5.now);

        const before = await snapshot(h.store, 'f');
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'primary' }, h.change()),
          'NothingToRollBack',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'revision', revision: 5 }, h.change()),
          'NothingToRollBack',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'revision', revision: 99 }, h.change()),
          'InvalidArgument',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'revision', revision: 0 }, h.change()),
          'InvalidArgument',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'ghost', { to: 'previous' }, h.change()),
          'AliasNotFound',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', DEFAULT_ALIAS, { to: 'previous' }, h.change()),
          'NothingToRollBack',
        );
        assert.deepEqual(await snapshot(h.store, 'f'), before);

        // The previous configuration sent traffic to version 2: once it is gone, returning to it is refused.
        await h.store.deleteVersion('f', 2);
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'previous' }, h.change()),
          'VersionNotFound',
        );
        await rejectsWith(
          h.store.rollbackAlias('f', 'live', { to: 'revision', revision: 3 }, h.change()),
          'VersionNotFound',
        );
        assert.deepEqual(await h.store.getAlias('f', 'live'), r5);
        assert.equal((await h.store.aliasHistory('f', 'live')).length, 5);
      });

      test('two concurrent writers with the same expectedRevision: exactly one wins', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        const specs = [points(2, 'writer a'), weight(1, 2, 0.5)];
        const results = await Promise.allSettled(
          specs.map((spec, i) =>
            h.store.putAlias('f', 'live', spec, { ...h.change(`writer${i}`), expectedRevision: 1 }),
          ),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(won.length, 1, 'not exactly one writer won');
        const winner = won[0] ?? -1;
        const lost = results.find((r) => r.status === 'rejected');
        assert.ok(
          lost && isSluiceError(lost.reason) && lost.reason.code === 'AliasConflict',
          String(lost?.reason),
        );
        const alias = await h.store.getAlias('f', 'live');
        assert.deepEqual([alias?.revision, alias?.spec], [2, specs[winner]]);
        const history = await h.store.aliasHistory('f', 'live');
        assert.deepEqual(
          history.map((e) => e.revision),
          [1, 2],
        );
        assert.equal(history[1]?.actor, `writer${winner}`);

        const creators = await Promise.allSettled(
          [1, 2].map((v) => h.store.putAlias('f', 'new', points(v), { ...h.change(), createOnly: true })),
        );
        assert.deepEqual(creators.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const refused = creators.find((r) => r.status === 'rejected');
        assert.ok(refused && isSluiceError(refused.reason) && refused.reason.code === 'AliasAlreadyExists');
        assert.deepEqual(
          (await h.store.aliasHistory('f', 'new')).map((e) => e.revision),
          [1],
        );
      });
    });

    void describe('APIs and stages', () => {
      const definition = (...list: string[]): ApiDefinition => ({
        description: '',
        routes: list.map((r) => {
          const [method, path] = r.split(' ') as [RouteMethod, string];
          return { method, path };
        }),
      });
      const stage = (
        fn: string,
        qualifier: string,
        extra: Partial<Pick<StageSpec, 'variables' | 'routes'>> = {},
      ): StageSpec => ({ function: fn, qualifier, variables: {}, routes: {}, ...extra });

      /** Everything the store holds about APIs and stages, to compare before and after a refused operation. */
      const apiState = async (store: Store, extraStages: readonly string[] = []) => {
        const apis = await store.listApis();
        const stages = await store.listStages();
        const history: Record<string, StageHistoryEntry[] | string> = {};
        for (const key of new Set([...stages.map((s) => `${s.api}/${s.name}`), ...extraStages])) {
          const [api = '', name = ''] = key.split('/');
          history[key] = await store.stageHistory(api, name).catch((error: unknown) => {
            if (isSluiceError(error)) return error.code;
            throw error;
          });
        }
        return { apis, stages, history };
      };

      test('createApi, getApi, listApis, updateApi and deleteApi', async (h) => {
        const c1 = h.change();
        const shop = definition('GET /users/{id}', 'ANY /{proxy+}');
        const created = await h.store.createApi('shop', { ...shop, description: 'the shop' }, c1);
        const expected: ApiRecord = {
          name: 'shop',
          definition: { ...shop, description: 'the shop' },
          createdAt: c1.now,
          updatedAt: c1.now,
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await h.store.getApi('shop'), expected);
        const blog = await h.store.createApi('blog', definition(), h.change());
        assert.deepEqual(await h.store.listApis(), [blog, expected], 'APIs are listed by name');
        assert.equal(await h.store.getApi('Shop'), undefined, 'names are case-sensitive');
        assert.equal(await h.store.getApi('nope'), undefined);

        const before = await apiState(h.store);
        await rejectsWith(
          h.store.createApi('shop', definition('GET /other'), h.change()),
          'ApiAlreadyExists',
        );
        assert.deepEqual(await apiState(h.store), before, 'a refused create changed an API');

        const c2 = h.change();
        const replaced = definition('GET /users/{id}', 'POST /users');
        const updated = await h.store.updateApi('shop', replaced, c2);
        assert.deepEqual(updated, { ...expected, definition: replaced, updatedAt: c2.now });
        assert.deepEqual(await h.store.getApi('shop'), updated);
        await rejectsWith(h.store.updateApi('nope', replaced, h.change()), 'ApiNotFound');

        await h.store.deleteApi('shop');
        assert.equal(await h.store.getApi('shop'), undefined);
        assert.deepEqual(await h.store.listApis(), [blog]);
        await rejectsWith(h.store.deleteApi('shop'), 'ApiNotFound');
        await rejectsWith(h.store.updateApi('shop', replaced, h.change()), 'ApiNotFound');
        await rejectsWith(h.store.listStages('shop'), 'ApiNotFound');
        assert.deepEqual(await h.store.listApis(), [blog]);

        const again = h.change();
        assert.deepEqual(await h.store.createApi('shop', shop, again), {
          name: 'shop',
          definition: shop,
          createdAt: again.now,
          updatedAt: again.now,
        });
      });

      test('updateApi is refused (RouteInUse) while a stage binds a route it would drop', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.createApi('shop', definition('GET /a', 'POST /b', 'PUT /c'), h.change());
        await h.store.putStage(
          'shop',
          'prod',
          stage('f', '1', { routes: { 'POST /b': stage('f', '2') } }),
          h.change(),
        );
        await h.store.putStage('shop', 'dev', stage('f', LATEST), h.change());
        const before = await apiState(h.store);

        const error = await rejectsWith(
          h.store.updateApi('shop', definition('GET /a', 'PUT /c'), h.change()),
          'RouteInUse',
        );
        assert.deepEqual(error.details, { stage: 'prod', route: 'POST /b' });
        assert.match(error.message, /prod/);
        assert.deepEqual(await apiState(h.store), before, 'a refused update changed the API or a stage');

        // A route no stage binds on its own may go; the stages keep their bindings.
        const kept = definition('POST /b', 'GET /x');
        assert.deepEqual((await h.store.updateApi('shop', kept, h.change())).definition, kept);
        assert.deepEqual(await h.store.listStages('shop'), before.stages);

        await h.store.putStage('shop', 'prod', stage('f', '1'), h.change());
        assert.deepEqual(
          (await h.store.updateApi('shop', definition('GET /x'), h.change())).definition,
          definition('GET /x'),
        );
      });

      test('putStage creates at revision 1, then updates, recording actor, time, before and after', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.createApi('shop', definition('GET /users/{id}', 'POST /users'), h.change());
        await h.store.createApi('blog', definition('ANY /{proxy+}'), h.change());

        const c1 = h.change('alice');
        const s1 = stage('f', 'live', { variables: { env: 'prod' } });
        const r1 = await h.store.putStage('shop', 'prod', s1, c1);
        const record: StageRecord = {
          api: 'shop',
          name: 'prod',
          spec: s1,
          revision: 1,
          createdAt: c1.now,
          updatedAt: c1.now,
        };
        assert.deepEqual(r1, { created: true, stage: record });
        assert.deepEqual(await h.store.getStage('shop', 'prod'), record);

        const c2 = h.change('bob');
        const s2 = stage('f', '2', {
          routes: { 'POST /users': stage('f', LATEST) },
          variables: { a: '1', b: '' },
        });
        const r2 = await h.store.putStage('shop', 'prod', s2, { ...c2, expectedRevision: 1 });
        assert.deepEqual(r2, {
          created: false,
          stage: { ...record, spec: s2, revision: 2, updatedAt: c2.now },
        });

        const c3 = h.change('carol');
        const s3 = stage('f', DEFAULT_ALIAS);
        const r3 = await h.store.putStage('shop', 'prod', s3, c3);
        assert.deepEqual(r3.stage, { ...record, spec: s3, revision: 3, updatedAt: c3.now });
        assert.deepEqual(await h.store.getStage('shop', 'prod'), r3.stage);

        const entry = { api: 'shop', stage: 'prod' };
        assert.deepEqual(await h.store.stageHistory('shop', 'prod'), [
          { ...entry, revision: 1, action: 'create', actor: 'alice', at: c1.now, before: null, after: s1 },
          { ...entry, revision: 2, action: 'update', actor: 'bob', at: c2.now, before: s1, after: s2 },
          { ...entry, revision: 3, action: 'update', actor: 'carol', at: c3.now, before: s2, after: s3 },
        ]);

        const dev = (await h.store.putStage('shop', 'dev', stage('f', LATEST), h.change())).stage;
        const blog = (await h.store.putStage('blog', 'prod', stage('f', '1'), h.change())).stage;
        assert.deepEqual(await h.store.listStages('shop'), [dev, r3.stage], "an API's stages, by name");
        assert.deepEqual(await h.store.listStages('blog'), [blog]);
        assert.deepEqual(await h.store.listStages(), [blog, dev, r3.stage], 'every stage, by API and name');
        assert.equal(await h.store.getStage('shop', 'nope'), undefined);
        assert.equal(await h.store.getStage('nope', 'prod'), undefined);
        await rejectsWith(h.store.stageHistory('shop', 'nope'), 'StageNotFound');
        await rejectsWith(h.store.stageHistory('nope', 'prod'), 'ApiNotFound');
        await rejectsWith(h.store.putStage('nope', 'prod', s1, h.change()), 'ApiNotFound');
        await rejectsWith(h.store.listStages('nope'), 'ApiNotFound');
      });

      test('putStage refuses a stale expectedRevision (StageConflict) and changes nothing', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.createApi('shop', definition('GET /a'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', '1'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', '2'), h.change());
        const before = await apiState(h.store, ['shop/new']);

        for (const expectedRevision of [1, 3, 0]) {
          const error = await rejectsWith(
            h.store.putStage('shop', 'prod', stage('f', LATEST), { ...h.change(), expectedRevision }),
            'StageConflict',
          );
          assert.deepEqual(error.details, { currentRevision: 2 });
        }
        const missing = await rejectsWith(
          h.store.putStage('shop', 'new', stage('f', LATEST), { ...h.change(), expectedRevision: 1 }),
          'StageConflict',
        );
        assert.deepEqual(missing.details, { currentRevision: null });
        const deleteStale = await rejectsWith(
          h.store.deleteStage('shop', 'prod', { ...h.change(), expectedRevision: 1 }),
          'StageConflict',
        );
        assert.deepEqual(deleteStale.details, { currentRevision: 2 });
        assert.deepEqual(await apiState(h.store, ['shop/new']), before);

        const ok = await h.store.putStage('shop', 'prod', stage('f', LATEST), {
          ...h.change(),
          expectedRevision: 2,
        });
        assert.equal(ok.stage.revision, 3);
      });

      test('putStage with createOnly creates a stage once; over an existing one it is refused (StageAlreadyExists) and changes nothing', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.createApi('shop', definition('GET /a'), h.change());
        const created = await h.store.putStage('shop', 'prod', stage('f', '1'), {
          ...h.change(),
          createOnly: true,
        });
        assert.deepEqual([created.created, created.stage.revision], [true, 1]);
        const before = await apiState(h.store);
        const error = await rejectsWith(
          h.store.putStage('shop', 'prod', stage('f', '2'), { ...h.change(), createOnly: true }),
          'StageAlreadyExists',
        );
        assert.deepEqual(error.details, { currentRevision: 1 });
        assert.match(error.message, /prod.*shop/);
        assert.deepEqual(await apiState(h.store), before);

        // Two creators at once: one creates, the other is told the stage exists.
        const racing = await Promise.allSettled(
          ['1', '2'].map((v) =>
            h.store.putStage('shop', 'new', stage('f', v), { ...h.change(), createOnly: true }),
          ),
        );
        assert.deepEqual(racing.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const refused = racing.find((r) => r.status === 'rejected');
        assert.ok(refused && isSluiceError(refused.reason) && refused.reason.code === 'StageAlreadyExists');
        assert.deepEqual(
          (await h.store.stageHistory('shop', 'new')).map((e) => e.action),
          ['create'],
        );
      });

      test('putStage refuses a binding to a missing function, alias or version (StageBindingInvalid), storing nothing', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await withVersions(h, 'g', 1);
        await h.store.putAlias('g', 'beta', points(1), h.change());
        await h.store.deleteVersion('f', 2);
        await h.store.createApi('shop', definition('GET /a', 'POST /b'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', 'live'), h.change());
        const functions = [await snapshot(h.store, 'f'), await snapshot(h.store, 'g')];
        const before = await apiState(h.store, ['shop/new']);

        const refused: [StageSpec, string, string][] = [
          [stage('nope', LATEST), 'nope', LATEST],
          [stage('nope', DEFAULT_ALIAS), 'nope', DEFAULT_ALIAS],
          [stage('f', 'beta'), 'f', 'beta'],
          [stage('f', 'ghost'), 'f', 'ghost'],
          [stage('f', '2'), 'f', '2'],
          [stage('f', '3'), 'f', '3'],
          [stage('f', 'live', { routes: { 'POST /b': stage('g', 'live') } }), 'g', 'live'],
          [stage('f', 'live', { routes: { 'POST /b': stage('gone', '1') } }), 'gone', '1'],
        ];
        for (const [spec, fn, qualifier] of refused) {
          for (const name of ['prod', 'new']) {
            const error = await rejectsWith(
              h.store.putStage('shop', name, spec, h.change()),
              'StageBindingInvalid',
            );
            assert.deepEqual(error.details, { function: fn, qualifier }, JSON.stringify(spec));
            assert.match(error.message, new RegExp(`${name}.*shop|shop.*${name}`));
          }
        }
        assert.deepEqual(await apiState(h.store, ['shop/new']), before, 'a refused binding was stored');
        assert.equal(await h.store.getStage('shop', 'new'), undefined);
        await rejectsWith(h.store.stageHistory('shop', 'new'), 'StageNotFound');
        assert.deepEqual([await snapshot(h.store, 'f'), await snapshot(h.store, 'g')], functions);

        // What exists is accepted: every kind of qualifier, and a route bound to another function.
        for (const spec of [
          stage('f', LATEST),
          stage('f', DEFAULT_ALIAS),
          stage('f', '1'),
          stage('g', 'beta', { routes: { 'POST /b': stage('f', 'live'), 'GET /a': stage('g', '1') } }),
        ]) {
          assert.deepEqual((await h.store.putStage('shop', 'new', spec, h.change())).stage.spec, spec);
        }
      });

      test('deleteStage removes the stage and records it; the stage can come back, its revisions going on', async (h) => {
        await withVersions(h, 'f', 1);
        await h.store.createApi('shop', definition('GET /a'), h.change());
        const s1 = stage('f', '1');
        await h.store.putStage('shop', 'prod', s1, h.change());
        const s2 = stage('f', LATEST, { variables: { x: 'y' } });
        await h.store.putStage('shop', 'prod', s2, h.change());
        const dev = (await h.store.putStage('shop', 'dev', s1, h.change())).stage;

        const c3 = h.change('dave');
        await h.store.deleteStage('shop', 'prod', { ...c3, expectedRevision: 2 });
        assert.equal(await h.store.getStage('shop', 'prod'), undefined);
        assert.deepEqual(await h.store.listStages('shop'), [dev]);
        const history = await h.store.stageHistory('shop', 'prod');
        assert.deepEqual(history[2], {
          api: 'shop',
          stage: 'prod',
          revision: 3,
          action: 'delete',
          actor: 'dave',
          at: c3.now,
          before: s2,
          after: null,
        });

        const before = await apiState(h.store, ['shop/prod']);
        await rejectsWith(h.store.deleteStage('shop', 'prod', h.change()), 'StageNotFound');
        await rejectsWith(h.store.deleteStage('shop', 'never', h.change()), 'StageNotFound');
        await rejectsWith(h.store.deleteStage('nope', 'prod', h.change()), 'ApiNotFound');
        assert.deepEqual(await apiState(h.store, ['shop/prod']), before);

        const c4 = h.change();
        const again = await h.store.putStage('shop', 'prod', s1, c4);
        assert.deepEqual(again, {
          created: true,
          stage: { api: 'shop', name: 'prod', spec: s1, revision: 4, createdAt: c4.now, updatedAt: c4.now },
        });
        assert.deepEqual(
          (await h.store.stageHistory('shop', 'prod')).map((e) => [e.revision, e.action, e.before, e.after]),
          [
            [1, 'create', null, s1],
            [2, 'update', s1, s2],
            [3, 'delete', s2, null],
            [4, 'create', null, s1],
          ],
        );
      });

      test('deleting an API deletes its stages and their history, and frees what they were bound to', async (h) => {
        await withVersions(h, 'f', 1);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.createApi('shop', definition('GET /a'), h.change());
        await h.store.createApi('blog', definition('GET /a'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', 'live'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', 'live', { variables: { v: '2' } }), h.change());
        await h.store.putStage('shop', 'dev', stage('f', LATEST), h.change());
        const blog = (await h.store.putStage('blog', 'prod', stage('f', '1'), h.change())).stage;

        await h.store.deleteApi('shop');
        assert.equal(await h.store.getApi('shop'), undefined);
        assert.equal(await h.store.getStage('shop', 'prod'), undefined);
        assert.equal(await h.store.getStage('shop', 'dev'), undefined);
        assert.deepEqual(await h.store.listStages(), [blog]);
        await rejectsWith(h.store.stageHistory('shop', 'prod'), 'ApiNotFound');
        await h.store.deleteAlias('f', 'live', h.change());

        await h.store.createApi('shop', definition('GET /a'), h.change());
        assert.deepEqual(await h.store.listStages('shop'), []);
        await rejectsWith(h.store.stageHistory('shop', 'prod'), 'StageNotFound');
        const fresh = await h.store.putStage('shop', 'prod', stage('f', '1'), h.change());
        assert.equal(fresh.stage.revision, 1, 'a new API starts its stages afresh');
        assert.equal((await h.store.stageHistory('shop', 'prod')).length, 1);
      });

      test('deleteAlias, deleteVersion and deleteFunction are refused while a stage is bound, naming it', async (h) => {
        await withVersions(h, 'f', 3);
        await h.store.putAlias('f', 'live', points(1), h.change());
        await h.store.putAlias('f', 'spare', points(1), h.change());
        await withVersions(h, 'g', 1);
        await h.store.putAlias('g', 'live', points(1), h.change());
        await h.store.createApi('shop', definition('GET /a', 'POST /b'), h.change());
        await h.store.createApi('blog', definition('GET /a'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', 'live'), h.change());
        await h.store.putStage('shop', 'beta', stage('f', '2'), h.change());
        await h.store.putStage('blog', 'dev', stage('f', DEFAULT_ALIAS), h.change());
        await h.store.putStage(
          'blog',
          'prod',
          stage('g', 'live', { routes: { 'GET /a': stage('f', 'live') } }),
          h.change(),
        );
        const before = {
          f: await snapshot(h.store, 'f'),
          g: await snapshot(h.store, 'g'),
          apis: await apiState(h.store),
        };
        const state = async () => ({
          f: await snapshot(h.store, 'f'),
          g: await snapshot(h.store, 'g'),
          apis: await apiState(h.store),
        });

        const alias = await rejectsWith(h.store.deleteAlias('f', 'live', h.change()), 'AliasInUse');
        assert.deepEqual(alias.details, { stages: ['blog/prod', 'shop/prod'] });
        assert.match(alias.message, /blog\/prod/);
        assert.match(alias.message, /shop\/prod/);
        const version = await rejectsWith(h.store.deleteVersion('f', 2), 'VersionInUse');
        assert.deepEqual(version.details, { stages: ['shop/beta'] });
        assert.match(version.message, /shop\/beta/);
        const fn = await rejectsWith(h.store.deleteFunction('f'), 'FunctionInUse');
        assert.deepEqual(fn.details, { stages: ['blog/dev', 'blog/prod', 'shop/beta', 'shop/prod'] });
        const other = await rejectsWith(h.store.deleteFunction('g'), 'FunctionInUse');
        assert.deepEqual(other.details, { stages: ['blog/prod'] });
        await rejectsWith(h.store.deleteAlias('g', 'live', h.change()), 'AliasInUse');
        assert.deepEqual(await state(), before, 'a refused delete changed something');

        // What no stage uses goes; an alias of the same name on another function does not protect it.
        await h.store.deleteAlias('f', 'spare', h.change());
        await h.store.deleteVersion('f', 3);

        // Rebound, each becomes free.
        await h.store.putStage('blog', 'prod', stage('g', 'live'), h.change());
        await rejectsWith(h.store.deleteAlias('f', 'live', h.change()), 'AliasInUse');
        await h.store.putStage('shop', 'prod', stage('f', '1'), h.change());
        await h.store.deleteAlias('f', 'live', h.change());
        await h.store.putStage('shop', 'beta', stage('f', LATEST), h.change());
        await h.store.deleteVersion('f', 2);
        await h.store.deleteApi('shop');
        await h.store.deleteStage('blog', 'dev', h.change());
        await h.store.deleteFunction('f');
        assert.equal(await h.store.getFunction('f'), undefined);
        assert.deepEqual(await snapshot(h.store, 'g'), before.g);
      });

      test('two concurrent stage writers with the same expectedRevision: exactly one wins', async (h) => {
        await withVersions(h, 'f', 2);
        await h.store.createApi('shop', definition('GET /a'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', '1'), h.change());
        const specs = [stage('f', '2'), stage('f', LATEST)];
        const results = await Promise.allSettled(
          specs.map((spec, i) =>
            h.store.putStage('shop', 'prod', spec, { ...h.change(`writer${i}`), expectedRevision: 1 }),
          ),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(won.length, 1, 'not exactly one writer won');
        const lost = results.find((r) => r.status === 'rejected');
        assert.ok(
          lost && isSluiceError(lost.reason) && lost.reason.code === 'StageConflict',
          String(lost?.reason),
        );
        const current = await h.store.getStage('shop', 'prod');
        assert.deepEqual([current?.revision, current?.spec], [2, specs[won[0] ?? -1]]);
        assert.deepEqual(
          (await h.store.stageHistory('shop', 'prod')).map((e) => [e.revision, e.actor]),
          [
            [1, 'tester'],
            [2, `writer${won[0] ?? -1}`],
          ],
        );
      });

      test('APIs, stages and their history are still there after close and reopen', async (h, t) => {
        if (!h.reopen) {
          t.skip('this backend keeps nothing across a reopen');
          return;
        }
        await withVersions(h, 'f', 1);
        await h.store.createApi('shop', definition('GET /users/{id}', 'ANY /{proxy+}'), h.change());
        await h.store.putStage('shop', 'prod', stage('f', '1', { variables: { a: 'b' } }), h.change());
        await h.store.putStage('shop', 'prod', stage('f', LATEST), h.change());
        await h.store.putStage('shop', 'gone', stage('f', LATEST), h.change());
        await h.store.deleteStage('shop', 'gone', h.change());
        const before = await apiState(h.store, ['shop/gone']);

        await h.store.close();
        const store = await h.reopen();
        assert.deepEqual(await apiState(store, ['shop/gone']), before);
        assert.equal((await store.putStage('shop', 'gone', stage('f', '1'), h.change())).stage.revision, 3);
      });
    });

    void describe('rollouts', () => {
      /** Function f with versions 1 and 2, alias live → 1 at revision 1, and a running rollout of it to 2. */
      const withRollout = async (h: Harness): Promise<Rollout> => {
        await withVersions(h, 'f', 2);
        const start = h.change();
        const alias = await h.store.putAlias('f', 'live', points(1, ''), start);
        const rollout: Rollout = {
          id: 'r1',
          functionName: 'f',
          alias: 'live',
          primary: 1,
          spec: parseRolloutRequest({ to: '2', strategy: 'steps', steps: [0.2, 0.5], interval: '1m' }),
          status: 'running',
          step: -1,
          stepStartedAt: undefined,
          aliasRevision: alias.alias.revision,
          reason: undefined,
          events: [],
          createdAt: start.now,
          updatedAt: start.now,
        };
        await h.store.createRollout(rollout);
        return rollout;
      };
      const stepOf = (rollout: Rollout, change: Change): Rollout => ({
        ...rollout,
        step: 0,
        stepStartedAt: change.now,
        updatedAt: change.now,
      });
      const canary = weight(1, 2, 0.2);

      test('saveRolloutAndAlias moves the alias as the rollout and saves the rollout at that revision', async (h) => {
        const rollout = await withRollout(h);
        const change = h.change('rollout:r1');
        const { rollout: saved, alias } = await h.store.saveRolloutAndAlias(
          stepOf(rollout, change),
          rollout.updatedAt,
          canary,
          { ...change, expectedRevision: 1 },
        );
        assert.equal(alias.revision, 2);
        assert.deepEqual(alias.spec, canary);
        assert.equal(saved.aliasRevision, 2);
        assert.equal(saved.step, 0);
        const stored = await h.store.getRollout('r1');
        assert.equal(stored?.aliasRevision, 2);
        assert.equal(stored.updatedAt, change.now);
        assert.deepEqual((await h.store.getAlias('f', 'live'))?.spec, canary);
        const history = await h.store.aliasHistory('f', 'live');
        assert.deepEqual(
          history.map((e) => [e.revision, e.actor]),
          [
            [1, 'tester'],
            [2, 'rollout:r1'],
          ],
        );
      });

      test('saveRolloutAndAlias on an alias changed by someone else writes neither', async (h) => {
        const rollout = await withRollout(h);
        const theirs = weight(1, 2, 0.9);
        await h.store.putAlias('f', 'live', theirs, h.change('bob'));
        const change = h.change('rollout:r1');
        await rejectsWith(
          h.store.saveRolloutAndAlias(stepOf(rollout, change), rollout.updatedAt, canary, {
            ...change,
            expectedRevision: 1,
          }),
          'AliasConflict',
        );
        const stored = await h.store.getRollout('r1');
        assert.equal(stored?.updatedAt, rollout.updatedAt, 'the rollout was not saved');
        assert.equal(stored.step, -1);
        assert.deepEqual((await h.store.getAlias('f', 'live'))?.spec, theirs);
      });

      test('saveRolloutAndAlias on a rollout saved meanwhile leaves the alias as it was', async (h) => {
        const rollout = await withRollout(h);
        const paused = { ...rollout, status: 'paused' as const, updatedAt: h.change().now };
        assert.equal(await h.store.saveRollout(paused, rollout.updatedAt), true);
        assert.equal(await h.store.saveRollout(paused, rollout.updatedAt), false, 'a stale save is refused');
        const change = h.change('rollout:r1');
        await rejectsWith(
          h.store.saveRolloutAndAlias(stepOf(rollout, change), rollout.updatedAt, canary, {
            ...change,
            expectedRevision: 1,
          }),
          'RolloutNotActive',
        );
        const alias = await h.store.getAlias('f', 'live');
        assert.equal(alias?.revision, 1);
        assert.deepEqual(alias.spec, points(1, ''));
        assert.equal((await h.store.aliasHistory('f', 'live')).length, 1);
        assert.equal((await h.store.getRollout('r1'))?.status, 'paused');
      });

      test('claimRollout lets one node hold a rollout until its lease runs out', async (h) => {
        await withRollout(h);
        assert.equal(await h.store.claimRollout('r1', 'a', 1000, 500), true);
        assert.equal(await h.store.claimRollout('r1', 'b', 1200, 500), false);
        assert.equal(await h.store.claimRollout('r1', 'a', 1400, 500), true, 'the holder renews');
        assert.equal(await h.store.claimRollout('r1', 'b', 1800, 500), false);
        assert.equal(await h.store.claimRollout('r1', 'b', 1901, 500), true, 'taken once it ran out');
        assert.equal(await h.store.claimRollout('r1', 'a', 2000, 500), false);
      });
    });

    void describe('tokens', () => {
      test('createFirstToken stores a token only on a store with none; findTokenByHash and countTokens', async (h) => {
        assert.equal(await h.store.countTokens(), 0);
        const first = { id: 'tok1', name: 'admin', sha256: 'a'.repeat(64), createdAt: h.change().now };
        const second = { id: 'tok2', name: 'ci', sha256: 'b'.repeat(64), createdAt: h.change().now };
        assert.equal(await h.store.createFirstToken(first), true);
        assert.equal(await h.store.createFirstToken(second), false);
        assert.equal(await h.store.countTokens(), 1);
        assert.deepEqual(await h.store.findTokenByHash(first.sha256), { ...first, scope: 'admin' });
        assert.equal(await h.store.findTokenByHash(second.sha256), undefined, 'the second was not stored');
        assert.equal(await h.store.findTokenByHash('c'.repeat(64)), undefined);
        assert.equal(await h.store.findTokenByHash('A'.repeat(64)), undefined, 'hashes compare exactly');
      });

      test('of many createFirstToken calls at once, exactly one stores its token', async (h) => {
        const tokens = Array.from({ length: 12 }, (_, i) => ({
          id: `tok${i}`,
          name: 'admin',
          sha256: i.toString(16).padStart(64, '0'),
          createdAt: h.change().now,
        }));
        const created = await Promise.all(tokens.map((t) => h.store.createFirstToken(t)));
        assert.equal(created.filter(Boolean).length, 1);
        assert.equal(await h.store.countTokens(), 1);
        const winner = tokens[created.indexOf(true)];
        assert.deepEqual(await h.store.findTokenByHash(winner?.sha256 ?? ''), { ...winner, scope: 'admin' });
      });
    });

    void describe('idempotency keys', () => {
      const claim = (over: Partial<IdempotencyClaim> = {}): IdempotencyClaim => ({
        scope: 'ci',
        key: 'k1',
        fingerprint: 'f1',
        now: 10_000,
        expiredBefore: 0,
        abandonedBefore: 0,
        ...over,
      });
      const answer: StoredResponse = { status: 201, headers: { etag: '"1"' }, body: 'e30=' };

      test('the first claim takes a key; later ones get its record, and its answer once settled', async (h) => {
        assert.equal(await h.store.claimIdempotencyKey(claim()), undefined);
        assert.deepEqual(await h.store.claimIdempotencyKey(claim({ fingerprint: 'f2', now: 11_000 })), {
          fingerprint: 'f1',
          createdAt: 10_000,
        });
        await h.store.settleIdempotencyKey('ci', 'k1', answer);
        assert.deepEqual(await h.store.claimIdempotencyKey(claim({ now: 12_000 })), {
          fingerprint: 'f1',
          response: answer,
          createdAt: 10_000,
        });
        // Another credential's key of the same name is another key.
        assert.equal(await h.store.claimIdempotencyKey(claim({ scope: 'deploy' })), undefined);
      });

      test('a key released without an answer, expired, or abandoned unanswered can be claimed anew', async (h) => {
        assert.equal(await h.store.claimIdempotencyKey(claim()), undefined);
        await h.store.settleIdempotencyKey('ci', 'k1', undefined);
        assert.equal(await h.store.claimIdempotencyKey(claim({ fingerprint: 'f2' })), undefined);
        // Unanswered, but not yet abandoned: still the first request's.
        assert.deepEqual(await h.store.claimIdempotencyKey(claim({ abandonedBefore: 10_000 })), {
          fingerprint: 'f2',
          createdAt: 10_000,
        });
        assert.equal(
          await h.store.claimIdempotencyKey(claim({ now: 20_000, abandonedBefore: 10_001 })),
          undefined,
        );
        await h.store.settleIdempotencyKey('ci', 'k1', answer);
        // An answered key is never abandoned, only expired.
        assert.equal(
          (await h.store.claimIdempotencyKey(claim({ now: 30_000, abandonedBefore: 25_000 })))?.response
            ?.status,
          201,
        );
        assert.equal(
          await h.store.claimIdempotencyKey(claim({ now: 40_000, expiredBefore: 20_001 })),
          undefined,
        );
      });
    });

    void describe('telemetry', () => {
      /** A metric row whose counts all derive from `n`, so that rows are told apart by their numbers. */
      const metricRow = (n: number, overrides: Partial<MetricRow> = {}): MetricRow => {
        const histogram = emptyHistogram();
        histogram[3] = n;
        histogram[40] = 1;
        histogram[histogram.length - 1] = 2;
        return {
          resolution: 10,
          functionName: 'f',
          versionId: '1',
          qualifier: 'live',
          bucketStart: 1_700_000_000,
          node: 'node-a',
          invocations: n + 3,
          functionErrors: n,
          platformErrors: n + 1,
          throttles: n + 2,
          coldStarts: 1,
          durationSumMs: n * 1.25 + 0.001,
          histogram,
          ...overrides,
        };
      };
      const byKey = (rows: readonly MetricRow[]) =>
        [...rows].sort((a, b) =>
          `${a.bucketStart}/${a.versionId}/${a.qualifier}/${a.node}`.localeCompare(
            `${b.bucketStart}/${b.versionId}/${b.qualifier}/${b.node}`,
          ),
        );
      const T = 1_700_000_000;

      test('writeMetrics keeps one row per resolution, function, bucket, version, qualifier and node', async (h) => {
        const first = metricRow(1);
        await h.store.writeMetrics([first]);
        assert.deepEqual(await h.store.queryMetrics('f', 10, T, T + 10), [first]);
        // The same node writes the same bucket again, whole: the new row replaces the old, nothing adds up.
        const again = metricRow(5);
        await h.store.writeMetrics([again]);
        assert.deepEqual(await h.store.queryMetrics('f', 10, T, T + 10), [again]);

        // Every other node, version, qualifier, resolution, bucket or function is a row of its own.
        const others = [
          metricRow(7, { node: 'node-b' }),
          metricRow(8, { versionId: '2' }),
          metricRow(9, { qualifier: '1' }),
          metricRow(10, { resolution: 60 }),
          metricRow(11, { bucketStart: T + 10 }),
          metricRow(12, { functionName: 'g' }),
        ];
        await h.store.writeMetrics(others);
        assert.deepEqual(
          byKey(await h.store.queryMetrics('f', 10, T, T + 10)),
          byKey([again, others[0], others[1], others[2]] as MetricRow[]),
          'two nodes’ rows of one bucket are kept apart',
        );
        assert.deepEqual(await h.store.queryMetrics('f', 60, T, T + 60), [others[3]]);
        assert.deepEqual(await h.store.queryMetrics('g', 10, T, T + 10), [others[5]]);
        // Replacing one node's row leaves the other node's alone.
        const replaced = metricRow(20, { node: 'node-b' });
        await h.store.writeMetrics([replaced, metricRow(21)]);
        const rows = byKey(await h.store.queryMetrics('f', 10, T, T + 10)).filter(
          (r) => r.versionId === '1' && r.qualifier === 'live',
        );
        assert.deepEqual(rows, byKey([metricRow(21), replaced]));
        assert.deepEqual(await h.store.queryMetrics('nope', 10, 0, T * 2), []);
        await h.store.writeMetrics([]);
      });

      test('queryMetrics answers the buckets starting in [from, to) at one resolution', async (h) => {
        const rows = [0, 10, 20, 30].map((s) => metricRow(s, { bucketStart: T + s }));
        await h.store.writeMetrics([...rows, metricRow(99, { resolution: 60, bucketStart: T })]);
        const starts = async (from: number, to: number) =>
          (await h.store.queryMetrics('f', 10, from, to)).map((r) => r.bucketStart - T).sort((a, b) => a - b);
        assert.deepEqual(await starts(T, T + 40), [0, 10, 20, 30]);
        assert.deepEqual(await starts(T + 10, T + 30), [10, 20], 'from is in, to is out');
        assert.deepEqual(await starts(T + 1, T + 21), [10, 20]);
        assert.deepEqual(await starts(T + 10, T + 10), []);
        assert.deepEqual(await starts(T + 40, T + 100), []);
        assert.deepEqual(
          (await h.store.queryMetrics('f', 60, T, T + 60)).map((r) => r.invocations),
          [102],
          'the other resolution is apart',
        );
      });

      /** Logs in the order they are appended: ids must come back increasing in this order. */
      const logs = (): InvocationLog[] => [
        log({ at: 1000, versionId: '1', qualifier: 'live', requestId: 'r1', text: 'Hello from one\n' }),
        log({
          at: 2000,
          versionId: '2',
          qualifier: 'live',
          requestId: 'r2',
          text: 'HELLO from two\nsecond line\n',
        }),
        log({
          at: 3000,
          versionId: '2',
          qualifier: '2',
          requestId: 'r3',
          outcome: 'functionError',
          errorCode: 'UnhandledInvocationError',
          text: 'boom 100%_done\n',
        }),
        log({
          at: 3000,
          versionId: 'LATEST',
          qualifier: 'LATEST',
          requestId: 'r4',
          outcome: 'platformError',
          errorCode: 'FunctionTimeout',
          text: '',
        }),
        log({
          at: 4000,
          versionId: '1',
          qualifier: undefined,
          requestId: undefined,
          durationMs: undefined,
          outcome: 'instance',
          text: 'loaded at start\n',
        }),
        log({ at: 5000, versionId: '1', qualifier: 'live', requestId: 'r6', text: 'héllo ünïcode ✓\n' }),
      ];
      const log = (overrides: Partial<InvocationLog>): InvocationLog =>
        invocationLog({ durationMs: 12.345, ...overrides });
      const withoutId = (record: InvocationLog): InvocationLog => {
        const copy = { ...record };
        delete copy.id;
        return copy;
      };

      test('appendLogs keeps every field; queryLogs answers them oldest first, with increasing ids', async (h) => {
        const appended = logs();
        await h.store.appendLogs(appended.slice(0, 3));
        await h.store.appendLogs(appended.slice(3));
        await h.store.appendLogs([log({ functionName: 'g', text: 'other function' })]);
        await h.store.appendLogs([]);
        const all = await h.store.queryLogs('f', { limit: 100 });
        assert.deepEqual(all.map(withoutId), appended);
        const ids = all.map((l) => l.id);
        assert.ok(
          ids.every((id, i) => typeof id === 'number' && (i === 0 || id > (ids[i - 1] as number))),
          `ids increase: ${ids.join(', ')}`,
        );
        assert.deepEqual(
          (await h.store.queryLogs('g', { limit: 100 })).map((l) => l.text),
          ['other function'],
        );
        assert.deepEqual(await h.store.queryLogs('nope', { limit: 100 }), []);
      });

      test('queryLogs filters by qualifier, version, request id, time, text, id and limit', async (h) => {
        await h.store.appendLogs(logs());
        const all = await h.store.queryLogs('f', { limit: 100 });
        const idOf = (requestId: string) => all.find((l) => l.requestId === requestId)?.id as number;
        const requests = async (
          filter: Omit<LogFilter, 'limit'> & { limit?: number; newestFirst?: boolean },
        ) => (await h.store.queryLogs('f', { limit: 100, ...filter })).map((l) => l.requestId ?? '-');
        assert.deepEqual(await requests({ qualifier: 'live' }), ['r1', 'r2', 'r6']);
        assert.deepEqual(await requests({ qualifier: 'LATEST' }), ['r4']);
        assert.deepEqual(await requests({ versionId: '2' }), ['r2', 'r3']);
        assert.deepEqual(await requests({ versionId: '1' }), ['r1', '-', 'r6']);
        assert.deepEqual(await requests({ versionId: '3' }), []);
        assert.deepEqual(await requests({ requestId: 'r3' }), ['r3']);
        assert.deepEqual(await requests({ requestId: 'R3' }), [], 'request ids compare exactly');
        assert.deepEqual(await requests({ since: 3000 }), ['r3', 'r4', '-', 'r6'], 'since is in');
        assert.deepEqual(await requests({ until: 3000 }), ['r1', 'r2'], 'until is out');
        assert.deepEqual(await requests({ since: 2000, until: 4001 }), ['r2', 'r3', 'r4', '-']);
        assert.deepEqual(await requests({ text: 'hello' }), ['r1', 'r2'], 'text matches whatever the case');
        assert.deepEqual(await requests({ text: 'SECOND LINE' }), ['r2'], 'in any line');
        assert.deepEqual(await requests({ text: 'O FROM T' }), ['r2']);
        assert.deepEqual(await requests({ text: '100%_' }), ['r3'], '% and _ are plain characters');
        assert.deepEqual(await requests({ text: '1%0' }), []);
        assert.deepEqual(await requests({ text: 'b_om' }), []);
        assert.deepEqual(await requests({ text: 'ünïcode ✓' }), ['r6']);
        assert.deepEqual(await requests({ text: 'nothing like it' }), []);
        assert.deepEqual(
          await requests({ afterId: idOf('r2') }),
          ['r3', 'r4', '-', 'r6'],
          'after an id: above it',
        );
        assert.deepEqual(await requests({ afterId: idOf('r6') }), []);
        assert.deepEqual(await requests({ limit: 2 }), ['r1', 'r2'], 'the oldest first');
        assert.deepEqual(await requests({ limit: 2, newestFirst: true }), ['r6', '-'], 'or the newest first');
        assert.deepEqual(await requests({ newestFirst: true }), ['r6', '-', 'r4', 'r3', 'r2', 'r1']);
        assert.deepEqual(await requests({ limit: 1, afterId: idOf('r1') }), ['r2']);
        assert.deepEqual(
          await requests({ qualifier: 'live', versionId: '1', text: 'FROM', since: 500 }),
          ['r1'],
          'filters combine',
        );
        assert.deepEqual(await requests({ versionId: '2', limit: 1, newestFirst: true }), ['r3']);
      });

      test('pruneTelemetry drops 10 s rows, 1 min rows and logs older than each bound, and keeps the rest', async (h) => {
        await h.store.writeMetrics([
          metricRow(1, { resolution: 10, bucketStart: T - 10 }),
          metricRow(2, { resolution: 10, bucketStart: T }),
          metricRow(3, { resolution: 60, bucketStart: T - 60 }),
          metricRow(4, { resolution: 60, bucketStart: T }),
          metricRow(5, { resolution: 60, bucketStart: T + 60, functionName: 'g' }),
        ]);
        await h.store.appendLogs([log({ at: 999, requestId: 'old' })]);
        await h.store.appendLogs([log({ at: 1000, requestId: 'kept' })]);
        await h.store.pruneTelemetry({ metrics10: T, metrics60: T - 60, logs: 1000 });
        const invocations = async (fn: string, resolution: 10 | 60) =>
          (await h.store.queryMetrics(fn, resolution, 0, T * 2))
            .map((r) => r.invocations)
            .sort((a, b) => a - b);
        assert.deepEqual(await invocations('f', 10), [5], 'a 10 s bucket starting at the bound is kept');
        assert.deepEqual(await invocations('f', 60), [6, 7], 'the 1 min rows have their own bound');
        assert.deepEqual(
          (await h.store.queryLogs('f', { limit: 10 })).map((l) => l.requestId),
          ['kept'],
        );
        await h.store.pruneTelemetry({ metrics10: T * 2, metrics60: T * 2, logs: 1e15 });
        assert.deepEqual(await invocations('f', 10), []);
        assert.deepEqual(await invocations('f', 60), []);
        assert.deepEqual(await invocations('g', 60), [], 'every function is pruned');
        assert.deepEqual(await h.store.queryLogs('f', { limit: 10 }), []);
      });

      test('logs appended together are pruned together, once the newest of them is past the bound', async (h) => {
        await h.store.appendLogs([log({ at: 500, requestId: 'a' }), log({ at: 1500, requestId: 'b' })]);
        const requests = async () => (await h.store.queryLogs('f', { limit: 10 })).map((l) => l.requestId);
        await h.store.pruneTelemetry({ metrics10: 0, metrics60: 0, logs: 1000 });
        assert.deepEqual(await requests(), ['a', 'b']);
        await h.store.pruneTelemetry({ metrics10: 0, metrics60: 0, logs: 1501 });
        assert.deepEqual(await requests(), []);
      });

      test('many logs of several functions page and filter exactly as one row each would', async (h) => {
        // Texts that JSON escapes, cases that fold, and more records than one stored run holds.
        const texts = [
          '',
          'plain\n',
          'Quote " and \\ back\n',
          'tab\tline\r\n',
          'ÜBER straße ✓\n',
          'x'.repeat(3000),
        ];
        const appended: InvocationLog[] = [];
        for (let batch = 0; batch < 3; batch++) {
          const records = Array.from({ length: 700 }, (_, i) => {
            const n = batch * 700 + i;
            return log({
              functionName: n % 3 === 0 ? 'g' : 'f',
              versionId: n % 10 === 0 ? '2' : '1',
              qualifier: n % 7 === 0 ? undefined : 'live',
              requestId: n % 11 === 0 ? undefined : `req-${n}`,
              at: 10_000 + n * 3 + (n % 2) * 0.5,
              durationMs: n % 5 === 0 ? undefined : toMicros(n / 7),
              initDurationMs: n % 17 === 0 ? toMicros(n / 3) : undefined,
              outcome: n % 13 === 0 ? 'functionError' : 'success',
              errorCode: n % 13 === 0 ? 'Boom' : undefined,
              text: texts[n % texts.length] as string,
            });
          });
          await h.store.appendLogs(records);
          appended.push(...records);
        }
        const all = await h.store.queryLogs('f', { limit: 5000 });
        const expected = appended.filter((l) => l.functionName === 'f');
        assert.deepEqual(all.map(withoutId), expected, 'every field of every record, in the order appended');
        const ids = all.map((l) => l.id as number);
        assert.ok(
          ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)),
          'ids increase',
        );
        const oracle = (filter: Omit<LogFilter, 'limit'> & { limit: number; newestFirst?: boolean }) => {
          const text = filter.text?.toLowerCase();
          const matching = all.filter(
            (l) =>
              (filter.versionId === undefined || l.versionId === filter.versionId) &&
              (filter.qualifier === undefined || l.qualifier === filter.qualifier) &&
              (filter.requestId === undefined || l.requestId === filter.requestId) &&
              (filter.since === undefined || l.at >= filter.since) &&
              (filter.until === undefined || l.at < filter.until) &&
              (filter.afterId === undefined || (l.id as number) > filter.afterId) &&
              (text === undefined || logText(l).toLowerCase().includes(text)),
          );
          return (filter.newestFirst ? matching.reverse() : matching).slice(0, filter.limit);
        };
        const middle = ids[Math.floor(ids.length / 2)] as number;
        for (const filter of [
          { limit: 1 },
          { limit: 1, newestFirst: true },
          { limit: 777 },
          { limit: 777, newestFirst: true },
          { limit: 100, afterId: middle },
          { limit: 5000, afterId: middle },
          { limit: 3, afterId: ids.at(-2) as number },
          { limit: 5000, versionId: '2' },
          { limit: 5, versionId: '2', newestFirst: true },
          { limit: 5000, qualifier: 'live', versionId: '2' },
          { limit: 5000, requestId: 'req-1001' },
          { limit: 5000, requestId: 'req-100' },
          { limit: 5000, since: 12_000.5, until: 13_000 },
          { limit: 50, since: 12_000, newestFirst: true },
          { limit: 5000, text: 'QUOTE " AND \\' },
          { limit: 5000, text: 'über STRASSE'.replace('SS', 'ß') },
          { limit: 5000, text: '\t' },
          { limit: 5000, text: 'line\r\n', afterId: middle, versionId: '1' },
          { limit: 5000, text: 'n' },
          { limit: 5000, text: 'nothing like it' },
          // In the REPORT lines, which are kept as numbers, and across the end of the text into them.
          { limit: 5000, text: 'report' },
          { limit: 5000, text: 'RequestId: req-1001 Version: 1 Duration: ' },
          { limit: 5000, text: 'Init Duration: 2' },
          { limit: 5000, text: '0 ms\n' },
          { limit: 5000, text: 'plain\nREPORT RequestId: req-' },
          { limit: 5000, text: 'back\nRE' },
          { limit: 5000, text: 'xxREPORT' },
          { limit: 5000, text: 'straße ✓\nreport requestid' },
          { limit: 5000, text: '"\nREPORT' },
        ]) {
          assert.deepEqual(await h.store.queryLogs('f', filter), oracle(filter), JSON.stringify(filter));
        }
      });

      test('deleting a function deletes its metrics and logs, and no other function’s', async (h) => {
        await h.store.createFunction('f', config(), blob('f'), h.change());
        await h.store.createFunction('g', config(), blob('g'), h.change());
        await h.store.writeMetrics([
          metricRow(1),
          metricRow(2, { resolution: 60 }),
          metricRow(3, { functionName: 'g' }),
        ]);
        await h.store.appendLogs([log({ text: 'f' }), log({ functionName: 'g', text: 'g' })]);
        await h.store.deleteFunction('f');
        assert.deepEqual(await h.store.queryMetrics('f', 10, 0, T * 2), []);
        assert.deepEqual(await h.store.queryMetrics('f', 60, 0, T * 2), []);
        assert.deepEqual(await h.store.queryLogs('f', { limit: 10 }), []);
        assert.deepEqual(
          (await h.store.queryMetrics('g', 10, 0, T * 2)).map((r) => r.invocations),
          [6],
        );
        assert.deepEqual(
          (await h.store.queryLogs('g', { limit: 10 })).map((l) => l.text),
          ['g'],
        );
        // A function made again under the name starts with no telemetry.
        await h.store.createFunction('f', config(), blob('f2'), h.change());
        assert.deepEqual(await h.store.queryLogs('f', { limit: 10 }), []);
      });

      test('metrics and logs are still there after close and reopen', async (h, t) => {
        if (!h.reopen) {
          t.skip('this backend keeps nothing across a reopen');
          return;
        }
        const rows = [metricRow(1), metricRow(2, { node: 'node-b', resolution: 60 })];
        await h.store.writeMetrics(rows);
        await h.store.appendLogs(logs());
        const before = await h.store.queryLogs('f', { limit: 100 });
        await h.store.close();
        const store = await h.reopen();
        assert.deepEqual(await store.queryMetrics('f', 10, T, T + 10), [rows[0]]);
        assert.deepEqual(await store.queryMetrics('f', 60, T, T + 60), [rows[1]]);
        assert.deepEqual(await store.queryLogs('f', { limit: 100 }), before);
        await store.appendLogs([log({ requestId: 'after' })]);
        const after = await store.queryLogs('f', { limit: 1, newestFirst: true });
        assert.ok((after[0]?.id ?? 0) > (before.at(-1)?.id ?? 0), 'ids keep increasing across a reopen');
      });
    });

    void describe('durability', () => {
      test('everything written is still there after close and reopen', async (h, t) => {
        if (!h.reopen) {
          t.skip('this backend keeps nothing across a reopen');
          return;
        }
        const big = blob(Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256)));
        await withVersions(h, 'f', 3);
        await h.store.updateFunction('f', { code: big }, h.change());
        await h.store.deleteVersion('f', 3);
        await h.store.putAlias('f', 'live', weight(1, 2, 0.125), h.change());
        await h.store.putAlias('f', 'gone', points(1), h.change());
        await h.store.deleteAlias('f', 'gone', h.change());
        await h.store.createFunction(
          'g',
          config({ environmentVariables: { A: '1', B: 'two' } }),
          blob('f-v1'),
          h.change(),
        );
        const token = { id: 't', name: 'admin', sha256: 'd'.repeat(64), createdAt: h.change().now };
        assert.equal(await h.store.createFirstToken(token), true);
        const before = [await snapshot(h.store, 'f', ['gone']), await snapshot(h.store, 'g')];
        const functions = await h.store.listFunctions({ limit: 10 });

        await h.store.close();
        const store = await h.reopen();
        assert.deepEqual([await snapshot(store, 'f', ['gone']), await snapshot(store, 'g')], before);
        assert.deepEqual(await store.listFunctions({ limit: 10 }), functions);
        assert.ok((await store.getCode(big.sha256))?.equals(big.zip), 'code bytes changed across a reopen');
        assert.deepEqual(await store.findTokenByHash(token.sha256), { ...token, scope: 'admin' });
        assert.equal(await store.countTokens(), 1);

        // Counters survive too: numbers and revisions continue where they were.
        assert.equal((await store.publishVersion('f', '', h.change())).version, 4);
        assert.equal((await store.putAlias('f', 'gone', points(1), h.change())).alias.revision, 3);
      });
    });
  });
}
