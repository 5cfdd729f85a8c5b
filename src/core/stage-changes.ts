import { type ApiDefinition, type Binding, type StageSpec, routeKey, stageBindings } from './api-gateway.js';
import { SluiceError } from './errors.js';
import type { StageHistoryEntry, StageRecord } from './model.js';
import { parseQualifier } from './names.js';
import { assertRevision, type ChangeRequest, planSpecDelete, planSpecWrite } from './revisions.js';

/** A stage write may also insist on creating it (refused when it exists), as an alias write may. */
export interface StageChangeRequest extends ChangeRequest {
  createOnly?: boolean;
}

/** What a binding's target is in the store: there, or what is missing. */
export type BindingCheck = 'ok' | 'no-function' | 'no-alias' | 'no-version';

const describe = (b: Binding) => `function ${b.function} (${b.qualifier})`;

function checkRevision(
  api: string,
  stage: string,
  current: StageRecord | undefined,
  request: ChangeRequest,
): void {
  assertRevision('StageConflict', `stage ${stage} of API ${api}`, current, request);
}

/** Decides a stage write; every binding must name an existing function, alias or version. */
export function planStageWrite(
  api: string,
  stage: string,
  current: StageRecord | undefined,
  lastRevision: number,
  spec: StageSpec,
  check: (binding: Binding) => BindingCheck,
  request: StageChangeRequest,
): { record: StageRecord; entry: StageHistoryEntry; created: boolean } {
  if (request.createOnly && current)
    throw new SluiceError('StageAlreadyExists', `stage ${stage} of API ${api} exists already`, {
      currentRevision: current.revision,
    });
  checkRevision(api, stage, current, request);
  for (const binding of stageBindings(spec)) {
    const result = check(binding);
    if (result !== 'ok') {
      const missing = {
        'no-function': 'no such function',
        'no-alias': 'no such alias',
        'no-version': 'no such version',
      }[result];
      throw new SluiceError(
        'StageBindingInvalid',
        `stage ${stage} of API ${api} cannot be bound to ${describe(binding)}: ${missing}`,
        {
          function: binding.function,
          qualifier: binding.qualifier,
        },
      );
    }
  }
  const { record, entry } = planSpecWrite(
    current,
    lastRevision,
    spec,
    request,
    current ? 'update' : 'create',
  );
  return {
    record: { api, name: stage, ...record },
    entry: { api, stage, ...entry },
    created: !current,
  };
}

export function planStageDelete(
  api: string,
  stage: string,
  current: StageRecord | undefined,
  request: ChangeRequest,
): StageHistoryEntry {
  if (!current) throw new SluiceError('StageNotFound', `API ${api} has no stage ${stage}`);
  checkRevision(api, stage, current, request);
  return { api, stage, ...planSpecDelete(current, request) };
}

/** The stages (as `api/stage`) whose bindings name a function, optionally only through one alias or version. */
export function stagesUsing(
  stages: readonly StageRecord[],
  functionName: string,
  target?: { alias: string } | { version: number },
): string[] {
  return stages
    .filter((s) =>
      stageBindings(s.spec).some((b) => {
        if (b.function !== functionName) return false;
        if (!target) return true;
        const q = parseQualifier(b.qualifier);
        if ('alias' in target) return q.kind === 'alias' && q.alias === target.alias;
        return q.kind === 'version' && q.version === target.version;
      }),
    )
    .map((s) => `${s.api}/${s.name}`);
}

/** Refuses to delete what a stage sends traffic to, naming the stages. */
export function assertNotBound(
  stages: readonly StageRecord[],
  functionName: string,
  target?: { alias: string } | { version: number },
): void {
  const users = stagesUsing(stages, functionName, target);
  if (users.length === 0) return;
  const what = !target
    ? `function ${functionName}`
    : 'alias' in target
      ? `alias ${target.alias} of ${functionName}`
      : `version ${target.version} of ${functionName}`;
  const code = !target ? 'FunctionInUse' : 'alias' in target ? 'AliasInUse' : 'VersionInUse';
  throw new SluiceError(
    code,
    `${what} is bound to stage${users.length > 1 ? 's' : ''} ${users.join(', ')}; rebind ${users.length > 1 ? 'them' : 'it'} first`,
    {
      stages: users,
    },
  );
}

/** Refuses new routes for an API while a stage binds, on its own, a route they drop. */
export function assertRoutesKept(stages: readonly StageRecord[], definition: ApiDefinition): void {
  const kept = new Set(definition.routes.map(routeKey));
  for (const stage of stages) {
    const dropped = Object.keys(stage.spec.routes).find((key) => !kept.has(key));
    if (dropped) {
      throw new SluiceError(
        'RouteInUse',
        `stage ${stage.name} of API ${stage.api} binds route ${dropped}; remove that binding first`,
        {
          stage: stage.name,
          route: dropped,
        },
      );
    }
  }
}
