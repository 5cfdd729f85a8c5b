import { SluiceError } from '../core/errors.js';
import type { NodeBeat, ProvisionedRecord } from '../core/model.js';
import { formatVersionRef, LATEST, parseQualifier } from '../core/names.js';
import {
  parseProvisionedSpec,
  type ProvisionedReport,
  splitTarget,
  type Traffic,
  trafficOfAlias,
} from '../core/provisioned.js';
import type { Store } from '../store/store.js';
import { ProvisionedBody, ProvisionedList, ProvisionedView } from '../contract/schemas/provisioned.js';
import { type ApiDeps, type ApiRequest, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute } from './plain-routes.js';
import { functionParam } from './params.js';
import { requireFunction } from './services.js';

/** The qualifier as the store keeps it: `$LATEST` (also for `LATEST`), a version number, or an alias name. */
function qualifierParam(request: ApiRequest): string {
  const qualifier = parseQualifier(request.params.qualifier ?? '');
  if (qualifier.kind === 'latest') return LATEST;
  return qualifier.kind === 'version' ? String(qualifier.version) : qualifier.alias;
}

/** Counts summed over nodes, or one node's, per version. */
type Counts = Pick<ProvisionedReport, 'target' | 'started' | 'ready' | 'failed'>;

const countsOf = (r: ProvisionedReport): ProvisionedView['versions'][number] => ({
  version: r.versionId,
  role: r.role,
  target: r.target,
  started: r.started,
  ready: r.ready,
  failed: r.failed,
});

/**
 * A qualifier's provisioned instances: what was asked, how the target splits between its versions, what the
 * live nodes run of each (summed), and what each node runs, from the nodes' last heartbeats.
 */
function provisionedView(
  record: ProvisionedRecord,
  traffic: Traffic | undefined,
  nodes: readonly NodeBeat[],
): ProvisionedView {
  const mine = (n: NodeBeat) =>
    n.provisioned.filter((r) => r.functionName === record.functionName && r.qualifier === record.qualifier);
  const shares = traffic ? splitTarget(record.spec.target, record.spec.canaryRatio, traffic) : [];
  const versions = shares.map((share) => {
    const version = formatVersionRef(share.version);
    const running = nodes.flatMap(mine).filter((r) => r.versionId === version);
    const sum = (key: keyof Counts) => running.reduce((n, r) => n + r[key], 0);
    return {
      version,
      role: share.role,
      target: share.count,
      started: sum('started'),
      ready: sum('ready'),
      failed: sum('failed'),
    };
  });
  return {
    functionName: record.functionName,
    qualifier: record.qualifier,
    target: record.spec.target,
    canaryRatio: record.spec.canaryRatio,
    versions,
    nodes: nodes
      .filter((n) => mine(n).length > 0)
      .map((n) => ({ node: n.node, seenAt: new Date(n.at).toISOString(), versions: mine(n).map(countsOf) })),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** Where a qualifier's traffic goes now, or undefined when its alias is gone. */
async function trafficOf(store: Store, record: ProvisionedRecord): Promise<Traffic | undefined> {
  const qualifier = parseQualifier(record.qualifier);
  if (qualifier.kind === 'latest') return { primary: LATEST };
  if (qualifier.kind === 'version') return { primary: qualifier.version };
  const alias = await store.getAlias(record.functionName, qualifier.alias);
  return alias && trafficOfAlias(alias.spec);
}

export function provisionedRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  const view = async (record: ProvisionedRecord, nodes?: NodeBeat[]) =>
    provisionedView(record, await trafficOf(store, record), nodes ?? (await store.listNodes()));

  return [
    getRoute(
      {
        path: '/v1/functions/{name}/provisioned',
        summary: "A function's provisioned instances per qualifier, with what the nodes run of them",
        responses: { 200: ProvisionedList },
      },
      async (request) => {
        const name = functionParam(request);
        await requireFunction(store, name);
        const [records, nodes] = await Promise.all([store.listProvisioned(name), store.listNodes()]);
        const views = await Promise.all(records.map((r) => view(r, nodes)));
        return { provisioned: views };
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/functions/{name}/provisioned/{qualifier}',
        summary:
          'Keep {"target": N} instances of an alias, a version or $LATEST started and warm; "canaryRatio" (0–1, default 0.01, or "weight") is the canary’s part',
        responses: { 200: ProvisionedView, 201: ProvisionedView },
      },
      { schema: ProvisionedBody },
      async (request, body) => {
        const name = functionParam(request);
        const qualifier = qualifierParam(request);
        const spec = parseProvisionedSpec(body);
        const { record, created } = await store.putProvisioned(
          name,
          qualifier,
          spec,
          changeBy(request, clock),
        );
        return { status: created ? 201 : 200, json: await view(record) };
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/provisioned/{qualifier}',
        summary:
          'A qualifier’s provisioned instances: target, and started, ready and failed per version and node',
        responses: { 200: ProvisionedView },
      },
      async (request) => {
        const name = functionParam(request);
        const qualifier = qualifierParam(request);
        const record = await store.getProvisioned(name, qualifier);
        if (!record) {
          await requireFunction(store, name);
          throw new SluiceError(
            'ProvisionedNotFound',
            `function ${name} has no provisioned instances for ${qualifier}`,
          );
        }
        return await view(record);
      },
    ),
    deleteRoute(
      {
        path: '/v1/functions/{name}/provisioned/{qualifier}',
        summary: 'Release a qualifier’s provisioned instances',
      },
      async (request) => {
        await store.deleteProvisioned(functionParam(request), qualifierParam(request));
      },
    ),
  ];
}
