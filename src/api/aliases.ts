import { type RollbackTarget, parseAliasSpec } from '../core/alias.js';
import { SluiceError } from '../core/errors.js';
import { LATEST, formatVersionRef, parseQualifier, type VersionRef } from '../core/names.js';
import { checkRoutingKey, entriesByHeaderName } from '../core/routing-key.js';
import { compileRoute, explainRoute, type Explanation, type ParameterLookup } from '../core/routing.js';
import { Issues } from '../core/validate.js';
import {
  AliasList,
  AliasSpecBody,
  AliasView,
  Explain,
  ExplainView,
  HistoryList,
  Rollback,
} from '../contract/schemas/aliases.js';
import type { ApiDeps, ApiRoute } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute } from './plain-routes.js';
import {
  aliasParam,
  functionParam,
  IF_MATCH,
  IF_NONE_MATCH,
  guardedWrite,
  revisedAnswer,
  storedAliasParam,
} from './params.js';
import * as services from './services.js';
import { aliasView, historyView } from './views.js';

/** `{}`: the previous revision; `{"to": "primary"}`: drop the canary; `{"revision": n}`: as of n. */
function rollbackTarget(body: Rollback): RollbackTarget {
  if (body.revision !== undefined) return { to: 'revision', revision: body.revision };
  return { to: body.to ?? 'previous' };
}

/**
 * The request attributes `explain` evaluates. The routing key is checked as the invoke API checks it, and
 * stands for the headers the request lacks as there.
 */
function explainLookup(body: Explain): ParameterLookup {
  const issues = new Issues();
  const routingKey =
    body.routingKey === undefined ? undefined : checkRoutingKey(body.routingKey, 'routingKey', issues);
  issues.throwIfAny('explain request');
  const map = (entries: Record<string, string> | undefined, lowerCase = false) =>
    entries && new Map(Object.entries(entries).map(([k, v]) => [lowerCase ? k.toLowerCase() : k, v]));
  const bySource = {
    header: map(body.headers, true),
    cookie: map(body.cookies),
    query: map(body.query),
    key: map(routingKey),
    routingKeyHeader: routingKey && entriesByHeaderName(routingKey),
  };
  return (source, name) => bySource[source]?.get(name);
}

function explanationView(explanation: Explanation) {
  return { ...explanation, version: formatVersionRef(explanation.version) };
}

export function aliasRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  const requireAlias = (name: string, aliasName: string) => services.requireAlias(store, name, aliasName);

  const requireVersion = async (name: string, version: VersionRef) => {
    await services.requireFunction(store, name);
    if (version !== LATEST && !(await store.getVersion(name, version)))
      throw new SluiceError('VersionNotFound', `function ${name} has no version ${version}`);
  };

  return [
    getRoute(
      {
        path: '/v1/functions/{name}/aliases',
        summary: 'List the aliases of a function, $DEFAULT included',
        responses: { 200: AliasList },
      },
      async (request) => {
        const aliases = await store.listAliases(functionParam(request));
        return { aliases: aliases.map(aliasView) };
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/functions/{name}/aliases/{alias}',
        summary:
          'Create or replace an alias (If-Match: revision guards against lost updates; If-None-Match: * creates only)',
        headers: [IF_MATCH, IF_NONE_MATCH],
        responses: { 200: AliasView, 201: AliasView },
      },
      { schema: AliasSpecBody },
      async (request, body) => {
        const name = functionParam(request);
        const aliasName = aliasParam(request);
        const write = guardedWrite(request, clock);
        const spec = parseAliasSpec(body);
        const { alias, created } = await store.putAlias(name, aliasName, spec, write);
        return revisedAnswer(aliasView(alias), alias.revision, created);
      },
    ),
    {
      method: 'GET',
      path: '/v1/functions/{name}/aliases/{alias}',
      summary: 'Get an alias with its revision (also in the ETag header)',
      responses: { 200: AliasView },
      handler: async (request) => {
        const name = functionParam(request);
        const aliasName = storedAliasParam(request);
        const alias = await requireAlias(name, aliasName);
        return revisedAnswer(aliasView(alias), alias.revision);
      },
    },
    deleteRoute(
      {
        path: '/v1/functions/{name}/aliases/{alias}',
        summary: 'Delete an alias ($DEFAULT cannot be deleted)',
        headers: [IF_MATCH],
      },
      async (request) => {
        await store.deleteAlias(
          functionParam(request),
          storedAliasParam(request),
          guardedWrite(request, clock),
        );
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/aliases/{alias}/history',
        summary: 'Every change to an alias: revision, action, actor, time, before and after',
        responses: { 200: HistoryList },
      },
      async (request) => {
        const history = await store.aliasHistory(functionParam(request), storedAliasParam(request));
        return { history: history.map(historyView) };
      },
    ),
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions/{name}/aliases/{alias}/explain',
        summary:
          'Which version would serve a request with these headers, cookies, query and routing key, and why (also for $LATEST, LATEST or a version: itself)',
        responses: { 200: ExplainView },
      },
      { schema: Explain, optional: true },
      async (request, body) => {
        const name = functionParam(request);
        const qualifier = parseQualifier(request.params.alias);
        const lookup = explainLookup(body);
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
    ),
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions/{name}/aliases/{alias}/rollback',
        summary:
          'Return an alias to its previous revision, to all-primary ({"to":"primary"}) or to a revision',
        headers: [IF_MATCH],
        responses: { 200: AliasView },
      },
      { schema: Rollback, optional: true },
      async (request, body) => {
        const name = functionParam(request);
        const aliasName = aliasParam(request);
        const write = guardedWrite(request, clock);
        const alias = await store.rollbackAlias(name, aliasName, rollbackTarget(body), write);
        return revisedAnswer(aliasView(alias), alias.revision);
      },
    ),
  ];
}
