import { type RollbackTarget, parseAliasSpec } from '../core/alias.js';
import { SluiceError } from '../core/errors.js';
import { LATEST, formatVersionRef, parseQualifier, type VersionRef } from '../core/names.js';
import { checkRoutingKey, entriesByHeaderName } from '../core/routing-key.js';
import { compileRoute, explainRoute, type Explanation, type ParameterLookup } from '../core/routing.js';
import { Issues, checkInteger, readObject } from '../core/validate.js';
import { readJson } from '../http/body.js';
import { type ApiDeps, type ApiRequest, type ApiRoute, changeBy, JSON_LIMIT } from './context.js';
import {
  aliasParam,
  checkQuery,
  functionParam,
  ifMatchRevision,
  ifNoneMatchAny,
  storedAliasParam,
} from './params.js';
import { aliasView, historyView } from './views.js';

/** `{}` or no body: the previous revision; `{"to": "primary"}`: drop the canary; `{"revision": n}`: as of n. */
function parseRollback(body: unknown): RollbackTarget {
  if (body === undefined) return { to: 'previous' };
  const issues = new Issues();
  const obj = readObject(body, '', issues, ['to', 'revision']);
  if (obj) {
    if (obj.to !== undefined && obj.to !== 'previous' && obj.to !== 'primary') {
      issues.add('to', 'must be "previous" or "primary"');
    }
    if (obj.revision !== undefined) {
      if (obj.to !== undefined) issues.add('', 'takes either to or revision, not both');
      checkInteger(obj.revision, 'revision', issues, { min: 1, max: Number.MAX_SAFE_INTEGER });
    }
  }
  issues.throwIfAny('rollback request');
  if (obj?.revision !== undefined) return { to: 'revision', revision: obj.revision as number };
  return { to: (obj?.to ?? 'previous') as 'previous' | 'primary' };
}

const etag = (revision: number) => `"${revision}"`;

const EXPLAIN_FIELDS = ['headers', 'cookies', 'query', 'routingKey'] as const;

/**
 * The request attributes `explain` evaluates: `{headers?, cookies?, query?, routingKey?}`, each strings. The
 * routing key is checked as the invoke API checks it, and stands for the headers the request lacks as there.
 */
function parseExplainRequest(body: unknown): ParameterLookup {
  const issues = new Issues();
  const obj = body === undefined ? {} : readObject(body, '', issues, EXPLAIN_FIELDS);
  const maps: Partial<Record<'headers' | 'cookies' | 'query', Map<string, string>>> = {};
  for (const field of ['headers', 'cookies', 'query'] as const) {
    const value = obj?.[field];
    if (value === undefined) continue;
    const map = new Map<string, string>();
    const inner = readObject(value, field, issues, Object.keys(value ?? {}));
    for (const [k, v] of Object.entries(inner ?? {})) {
      if (typeof v !== 'string') issues.add(`${field}.${k}`, 'must be a string');
      else map.set(field === 'headers' ? k.toLowerCase() : k, v);
    }
    maps[field] = map;
  }
  const routingKey =
    obj?.routingKey === undefined ? undefined : checkRoutingKey(obj.routingKey, 'routingKey', issues);
  issues.throwIfAny('explain request');
  const bySource = {
    header: maps.headers,
    cookie: maps.cookies,
    query: maps.query,
    key: routingKey && new Map(Object.entries(routingKey)),
    routingKeyHeader: routingKey && entriesByHeaderName(routingKey),
  };
  return (source, name) => bySource[source]?.get(name);
}

function explanationView(explanation: Explanation): Record<string, unknown> {
  return { ...explanation, version: formatVersionRef(explanation.version) };
}

function aliasWrite(request: ApiRequest, clock: () => Date) {
  const expectedRevision = ifMatchRevision(request);
  return {
    ...changeBy(request, clock),
    ...(expectedRevision !== undefined && { expectedRevision }),
    ...(ifNoneMatchAny(request) && { createOnly: true }),
  };
}

export function aliasRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  const requireAlias = async (name: string, aliasName: string) => {
    const alias = await store.getAlias(name, aliasName);
    if (alias) return alias;
    if (!(await store.getFunction(name)))
      throw new SluiceError('FunctionNotFound', `function ${name} does not exist`);
    throw new SluiceError('AliasNotFound', `function ${name} has no alias ${aliasName}`);
  };

  const requireVersion = async (name: string, version: VersionRef) => {
    if (!(await store.getFunction(name)))
      throw new SluiceError('FunctionNotFound', `function ${name} does not exist`);
    if (version !== LATEST && !(await store.getVersion(name, version)))
      throw new SluiceError('VersionNotFound', `function ${name} has no version ${version}`);
  };

  return [
    {
      method: 'GET',
      path: '/v1/functions/{name}/aliases',
      summary: 'List the aliases of a function, $DEFAULT included',
      handler: async (request) => {
        checkQuery(request, []);
        const aliases = await store.listAliases(functionParam(request));
        return { status: 200, json: { aliases: aliases.map(aliasView) } };
      },
    },
    {
      method: 'PUT',
      path: '/v1/functions/{name}/aliases/{alias}',
      summary:
        'Create or replace an alias (If-Match: revision guards against lost updates; If-None-Match: * creates only)',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const aliasName = aliasParam(request);
        const write = aliasWrite(request, clock);
        const spec = parseAliasSpec(await readJson(request.req, JSON_LIMIT));
        const { alias, created } = await store.putAlias(name, aliasName, spec, write);
        return {
          status: created ? 201 : 200,
          json: aliasView(alias),
          headers: { etag: etag(alias.revision) },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/aliases/{alias}',
      summary: 'Get an alias with its revision (also in the ETag header)',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const aliasName = storedAliasParam(request);
        const alias = await requireAlias(name, aliasName);
        return { status: 200, json: aliasView(alias), headers: { etag: etag(alias.revision) } };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}/aliases/{alias}',
      summary: 'Delete an alias ($DEFAULT cannot be deleted)',
      handler: async (request) => {
        checkQuery(request, []);
        await store.deleteAlias(
          functionParam(request),
          storedAliasParam(request),
          aliasWrite(request, clock),
        );
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/aliases/{alias}/history',
      summary: 'Every change to an alias: revision, action, actor, time, before and after',
      handler: async (request) => {
        checkQuery(request, []);
        const history = await store.aliasHistory(functionParam(request), storedAliasParam(request));
        return { status: 200, json: { history: history.map(historyView) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/functions/{name}/aliases/{alias}/explain',
      summary:
        'Which version would serve a request with these headers, cookies, query and routing key, and why (also for $LATEST, LATEST or a version: itself)',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const qualifier = parseQualifier(request.params.alias);
        const lookup = parseExplainRequest(await readJson(request.req, JSON_LIMIT));
        if (qualifier.kind !== 'alias') {
          // `$LATEST` (or `LATEST`) and a version are named directly: no alias chooses for them.
          const version = qualifier.kind === 'latest' ? LATEST : qualifier.version;
          await requireVersion(name, version);
          return {
            status: 200,
            json: {
              alias: null,
              revision: null,
              version: formatVersionRef(version),
              target: 'primary',
              reason: 'named',
            },
          };
        }
        const aliasName = qualifier.alias;
        const alias = await requireAlias(name, aliasName);
        const explanation = explainRoute(
          compileRoute(alias.spec, `${name}/${aliasName}`),
          lookup,
          Math.random,
        );
        return {
          status: 200,
          json: { alias: aliasName, revision: alias.revision, ...explanationView(explanation) },
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/functions/{name}/aliases/{alias}/rollback',
      summary: 'Return an alias to its previous revision, to all-primary ({"to":"primary"}) or to a revision',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const aliasName = aliasParam(request);
        const write = aliasWrite(request, clock);
        const target = parseRollback(await readJson(request.req, JSON_LIMIT));
        const alias = await store.rollbackAlias(name, aliasName, target, write);
        return { status: 200, json: aliasView(alias), headers: { etag: etag(alias.revision) } };
      },
    },
  ];
}
