import { SluiceError } from '../core/errors.js';
import { Issues } from '../core/validate.js';
import { DEFAULT_ALIAS } from '../core/names.js';
import {
  assertTriggerName,
  checkTriggerSpec,
  type TriggerRecord,
  type TriggerSpec,
} from '../core/triggers.js';
import { CreateTrigger, TriggerBody, TriggerList, TriggerView } from '../contract/schemas/triggers.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute } from './plain-routes.js';
import { functionParam } from './params.js';

const DEFAULT_QUEUE_CONCURRENCY = 4;

/** The fields each kind takes: the other kind's are refused by name rather than ignored. */
const KIND_FIELDS = {
  timer: ['schedule', 'payload'],
  queue: ['broker', 'url', 'stream', 'subject', 'concurrency'],
} as const;
const REQUIRED = { timer: ['schedule'], queue: ['url', 'stream', 'subject'] } as const;

/** A trigger's spec from its body, defaults filled in, checked beyond the schema. */
function specOf(body: TriggerBody): TriggerSpec {
  const issues = new Issues();
  const other = body.kind === 'timer' ? 'queue' : 'timer';
  for (const field of KIND_FIELDS[other])
    if (body[field] !== undefined) issues.add(field, `is a ${other} trigger's, not a ${body.kind}'s`);
  for (const field of REQUIRED[body.kind])
    if (body[field] === undefined) issues.add(field, `is required for a ${body.kind} trigger`);
  issues.throwIfAny('trigger');
  const common = {
    qualifier: body.qualifier ?? DEFAULT_ALIAS,
    enabled: body.enabled ?? true,
    description: body.description ?? '',
  };
  return checkTriggerSpec(
    body.kind === 'timer'
      ? { kind: 'timer', ...common, schedule: body.schedule ?? '', payload: body.payload ?? '' }
      : {
          kind: 'queue',
          ...common,
          broker: body.broker ?? 'nats',
          url: body.url ?? '',
          stream: body.stream ?? '',
          subject: body.subject ?? '',
          concurrency: body.concurrency ?? DEFAULT_QUEUE_CONCURRENCY,
        },
  );
}

export function triggerView(record: TriggerRecord): TriggerView {
  const { kind, qualifier, enabled, description, ...rest } = record.spec;
  return {
    functionName: record.functionName,
    name: record.name,
    kind,
    qualifier,
    enabled,
    description,
    ...rest,
    lastFiredAt: record.lastFired === undefined ? null : new Date(record.lastFired).toISOString(),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function triggerParam(params: Record<string, string>): string {
  const name = params.trigger ?? '';
  assertTriggerName(name);
  return name;
}

/** Timer and queue triggers, each bound to a qualifier of its function. */
export function triggerRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  return [
    getRoute(
      {
        path: '/v1/functions/{name}/triggers',
        summary: "A function's timer and queue triggers, with the qualifier each invokes",
        responses: { 200: TriggerList },
      },
      async (request) => {
        const triggers = await store.listTriggers(functionParam(request));
        return { triggers: triggers.map(triggerView) };
      },
    ),
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions/{name}/triggers',
        summary:
          'Create a trigger: {"name", "kind": "timer", "schedule", "payload"?} or {"name", "kind": "queue", "url", "stream", "subject", "concurrency"?}, with the "qualifier" it invokes',
        responses: { 201: TriggerView },
      },
      { schema: CreateTrigger },
      async (request, body) => {
        const name = functionParam(request);
        const { name: trigger, ...rest } = body;
        const record = await store.createTrigger(name, trigger, specOf(rest), changeBy(request, clock));
        return {
          status: 201,
          json: triggerView(record),
          headers: { location: `/v1/functions/${name}/triggers/${trigger}` },
        };
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/triggers/{trigger}',
        summary: 'One trigger',
        responses: { 200: TriggerView },
      },
      async (request) => {
        const name = functionParam(request);
        const trigger = triggerParam(request.params);
        const record = await store.getTrigger(name, trigger);
        if (!record) {
          await store.listTriggers(name);
          throw new SluiceError('TriggerNotFound', `function ${name} has no trigger ${trigger}`);
        }
        return triggerView(record);
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/functions/{name}/triggers/{trigger}',
        summary: 'Replace a trigger’s configuration (a timer keeps its last firing)',
        responses: { 200: TriggerView },
      },
      { schema: TriggerBody },
      async (request, body) => {
        const record = await store.updateTrigger(
          functionParam(request),
          triggerParam(request.params),
          specOf(body),
          changeBy(request, clock),
        );
        return { status: 200, json: triggerView(record) };
      },
    ),
    deleteRoute(
      {
        path: '/v1/functions/{name}/triggers/{trigger}',
        summary: 'Delete a trigger',
      },
      async (request) => {
        await store.deleteTrigger(functionParam(request), triggerParam(request.params));
      },
    ),
  ];
}
