import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import type { AliasSpec } from '../core/alias.js';
import { type ErrorCode, isSluiceError, type SluiceError } from '../core/errors.js';
import type { FunctionConfig } from '../core/function-config.js';
import type { AliasHistoryEntry, AliasRecord, FunctionRecord, VersionRecord } from '../core/model.js';
import { DEFAULT_ALIAS, LATEST } from '../core/names.js';
import type { Change, CodeBlob, Store } from './store.js';

/** What a backend hands the contract: a fresh, empty store, and the means to inspect it from outside. */
export interface OpenedStore {
  store: Store;
  /** Closes whatever store is still open and removes everything the backend created. */
  cleanup: () => Promise<void>;
  /** Runs raw SQL against the store's database behind its back; rejects when the database refuses it. */
  tamper?: (sql: string) => Promise<void>;
  /** After the caller closed `store`, opens a new store over the same data. */
  reopen?: () => Promise<Store>;
}

/** A code blob of any bytes: the store addresses code by digest and never parses it. */
export function blob(content: string | Buffer): CodeBlob {
  const zip = typeof content === 'string' ? Buffer.from(`zip:${content}`, 'utf8') : content;
  return { sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length, zip };
}

export function config(overrides: Partial<FunctionConfig> = {}): FunctionConfig {
  return {
    runtime: 'nodejs20',
    handler: 'index.handler',
    memorySize: 128,
    timeout: 3,
    instanceConcurrency: 1,
    environmentVariables: {},
    description: '',
    ...overrides,
  };
}

const codeRef = (b: CodeBlob) => ({ sha256: b.sha256, size: b.size });

/** A clock that ticks one second per change, so that every change has its own, increasing time. */
function clock(): (actor?: string) => Change {
  let tick = 0;
  return (actor = 'tester') => ({ actor, now: new Date(Date.UTC(2024, 0, 1, 0, 0, tick++)).toISOString() });
}

async function rejectsWith(operation: Promise<unknown>, code: ErrorCode): Promise<SluiceError> {
  try {
    await operation;
  } catch (error) {
    assert.ok(isSluiceError(error), `expected SluiceError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the operation succeeded`);
}

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
export function storeContract(label: string, open: () => Promise<OpenedStore>): void {
  interface Harness extends OpenedStore {
    change: (actor?: string) => Change;
  }

  const test = (name: string, body: (h: Harness, t: TestContext) => Promise<void>): void => {
    void it(name, async (t) => {
      const opened = await open();
      try {
        await body({ ...opened, change: clock() }, t);
      } finally {
        await opened.cleanup();
      }
    });
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
        const written = new Map(
          Array.from({ length: 20 }, (_, i) => blob(`c${i}`)).map((b) => [b.sha256, b]),
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

    void describe('tokens', () => {
      test('createToken, findTokenByHash and countTokens', async (h) => {
        assert.equal(await h.store.countTokens(), 0);
        const first = { id: 'tok1', name: 'admin', sha256: 'a'.repeat(64), createdAt: h.change().now };
        const second = { id: 'tok2', name: 'ci', sha256: 'b'.repeat(64), createdAt: h.change().now };
        await h.store.createToken(first);
        await h.store.createToken(second);
        assert.equal(await h.store.countTokens(), 2);
        assert.deepEqual(await h.store.findTokenByHash(first.sha256), first);
        assert.deepEqual(await h.store.findTokenByHash(second.sha256), second);
        assert.equal(await h.store.findTokenByHash('c'.repeat(64)), undefined);
        assert.equal(await h.store.findTokenByHash('A'.repeat(64)), undefined, 'hashes compare exactly');
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
        await h.store.createToken(token);
        const before = [await snapshot(h.store, 'f', ['gone']), await snapshot(h.store, 'g')];
        const functions = await h.store.listFunctions({ limit: 10 });

        await h.store.close();
        const store = await h.reopen();
        assert.deepEqual([await snapshot(store, 'f', ['gone']), await snapshot(store, 'g')], before);
        assert.deepEqual(await store.listFunctions({ limit: 10 }), functions);
        assert.ok((await store.getCode(big.sha256))?.equals(big.zip), 'code bytes changed across a reopen');
        assert.deepEqual(await store.findTokenByHash(token.sha256), token);
        assert.equal(await store.countTokens(), 1);

        // Counters survive too: numbers and revisions continue where they were.
        assert.equal((await store.publishVersion('f', '', h.change())).version, 4);
        assert.equal((await store.putAlias('f', 'gone', points(1), h.change())).alias.revision, 3);
      });
    });
  });
}
