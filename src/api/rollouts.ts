import { type Guardrails, parseRolloutRequest, type Rollout, targetWeight } from '../core/rollout.js';
import { RolloutList, RolloutView, StartRollout } from '../contract/schemas/rollouts.js';
import type { ApiDeps, ApiRequest, ApiRoute } from './context.js';
import { jsonRoute } from './json-route.js';
import { getRoute } from './plain-routes.js';
import { aliasParam, functionParam } from './params.js';
import { authorize } from '../core/credentials.js';
import { SluiceError } from '../core/errors.js';
import { formatVersionRef } from '../core/names.js';

function rolloutView(r: Rollout): RolloutView {
  return {
    id: r.id,
    functionName: r.functionName,
    alias: r.alias,
    from: formatVersionRef(r.primary),
    to: String(r.spec.target),
    status: r.status,
    step: r.step + 1,
    steps: r.spec.steps.map((s) => ({ weight: s.weight, holdMs: s.holdMs })),
    currentWeight: targetWeight(r),
    stepStartedAt: r.stepStartedAt ?? null,
    guardrails: guardrailsView(r.spec.guardrails),
    preTraffic: r.spec.preTraffic ?? null,
    reason: r.reason ?? null,
    events: r.events,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** The guardrails a rollout was given: those it was not are absent, as JSON has no undefined. */
function guardrailsView(g: Guardrails): RolloutView['guardrails'] {
  return {
    ...(g.maxErrorRate !== undefined && { maxErrorRate: g.maxErrorRate }),
    ...(g.maxErrorRateRatio !== undefined && { maxErrorRateRatio: g.maxErrorRateRatio }),
    ...(g.maxP99Ms !== undefined && { maxP99Ms: g.maxP99Ms }),
    ...(g.maxPlatformErrors !== undefined && { maxPlatformErrors: g.maxPlatformErrors }),
    minInvocations: g.minInvocations,
  };
}

const ID = /^[0-9a-f-]{36}$/;

function idParam(request: ApiRequest): string {
  const id = request.params.id ?? '';
  if (!ID.test(id))
    throw new SluiceError('InvalidArgument', `"${id}" is not a rollout id`, [
      { path: 'id', message: 'must be a rollout id' },
    ]);
  return id;
}

const COMMANDS = [
  ['pause', 'Pause a rollout: its step holds until resumed'],
  ['resume', 'Resume a paused rollout; the current step starts afresh'],
  ['abort', 'Abort a rollout: all traffic back to the primary at once'],
  ['promote', 'Promote the target at once: it becomes the primary'],
] as const;

/** Progressive rollouts: start one on an alias, watch it, and steer it. */
export function rolloutRoutes({ store, rollouts }: ApiDeps): ApiRoute[] {
  /** The rollout the path names, if its function is within the credential's prefix. */
  const requireOwn = async (request: ApiRequest): Promise<Rollout> => {
    const rollout = await rollouts.require(idParam(request));
    authorize(request.principal, 'deploy', rollout.functionName);
    return rollout;
  };
  return [
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions/{name}/aliases/{alias}/rollouts',
        summary:
          'Start a rollout: {to, strategy: canary|linear|steps, weight?, increment?, steps?, interval, maxErrorRate?, maxErrorRateRatio?, maxP99Ms?, maxPlatformErrors?, minInvocations?, preTraffic?}',
        responses: { 201: RolloutView },
      },
      { schema: StartRollout },
      async (request, body) => {
        const name = functionParam(request);
        const alias = aliasParam(request);
        const spec = parseRolloutRequest(body);
        const rollout = await rollouts.start(name, alias, spec, request.actor);
        return {
          status: 201,
          json: rolloutView(rollout),
          headers: { location: `/v1/rollouts/${rollout.id}` },
        };
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/aliases/{alias}/rollouts',
        summary: "An alias's rollouts, newest first",
        responses: { 200: RolloutList },
      },
      async (request) => {
        const list = await store.listRollouts(functionParam(request), aliasParam(request));
        return { rollouts: list.map(rolloutView) };
      },
    ),
    getRoute(
      {
        path: '/v1/rollouts/{id}',
        summary: "A rollout's state, step and event log",
        access: { prefix: 'handler' },
        responses: { 200: RolloutView },
      },
      async (request) => {
        return rolloutView(await requireOwn(request));
      },
    ),
    ...COMMANDS.map(([command, summary]): ApiRoute => ({
      method: 'POST',
      path: `/v1/rollouts/{id}/${command}`,
      summary,
      access: { prefix: 'handler' },
      responses: { 200: RolloutView },
      handler: async (request) => {
        const rollout = await rollouts[command]((await requireOwn(request)).id, request.actor);
        return { status: 200, json: rolloutView(rollout) };
      },
    })),
  ];
}
