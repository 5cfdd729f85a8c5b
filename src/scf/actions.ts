import type { Static, TSchema } from '@sinclair/typebox';
import { parseAliasSpec } from '../core/alias.js';
import { isSluiceError, SluiceError, withFieldNames } from '../core/errors.js';
import { DEFAULT_ALIAS, parseVersionRef } from '../core/names.js';
import { checkRoutingKey, type RoutingKey } from '../core/routing-key.js';
import { Issues } from '../core/validate.js';
import { SCF_PARAMS, type ScfAction } from '../contract/schemas/scf.js';
import {
  createFunction,
  qualifiedCode,
  requireAlias,
  requireFunction,
  updateFunction,
} from '../api/services.js';
import type { ApiDeps } from '../api/context.js';
import type { EventOutcome, QueuedInvocation } from '../gateway/gateway.js';
import type { Page } from '../core/model.js';
import type { Change, ListOptions } from '../store/store.js';
import {
  configPatch,
  newAliasInput,
  newFunctionInput,
  scfAlias,
  scfFunction,
  scfFunctionSummary,
  scfVersion,
  scfVersionId,
} from './wire.js';

/** What a credential needs for an action: the control plane's `deploy`, or the data plane's `invoke`. */
export type Need = 'deploy' | 'invoke';

export interface ScfActionDeps {
  api: Pick<ApiDeps, 'store' | 'codeLimits' | 'zipWorkers' | 'clock' | 'runtimeProblem'>;
  /** The data plane's way to run an invocation that no HTTP request carries. */
  invoke: (call: QueuedInvocation, options: { tail: boolean }) => Promise<EventOutcome>;
}

/** An action's call, once its caller is known and its parameters checked. */
export interface ScfCall<P> {
  params: P;
  requestId: string;
  /** The prefix of function names the caller is limited to, if it is. */
  functionPrefix: string | undefined;
  change: Change;
}

export interface ScfActionSpec {
  need: Need;
  /** Changes what the data plane serves, which it must see before the caller does. */
  writes: boolean;
  handler: (call: ScfCall<never>) => Promise<Record<string, unknown>>;
}

/** The core names `/v1`'s fields in its errors; on this wire they are SCF's parameters. */
const PARAM_NAMES: [RegExp, string][] = [
  [/^name$/, 'FunctionName'],
  [/^runtime$/, 'Runtime'],
  [/^convention$/, 'Runtime'],
  [/^handler$/, 'Handler'],
  [/^memorySize$/, 'MemorySize'],
  [/^timeout$/, 'Timeout'],
  [/^description$/, 'Description'],
  [/^environmentVariables(\..*)?$/, 'Environment'],
  [/^version$/, 'FunctionVersion'],
  [/^canary(\..*)?$/, 'RoutingConfig'],
];

/** Runs `fn`, naming the fields of its InvalidArgument errors as SCF does. */
async function withScfNames<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw withFieldNames(error, PARAM_NAMES);
  }
}

/** A listing's window: SCF pages by `Offset` and `Limit` (default 20). */
function windowOf<T>(items: readonly T[], params: { Offset?: number; Limit?: number }): T[] {
  const offset = params.Offset ?? 0;
  return items.slice(offset, offset + (params.Limit ?? 20));
}

/** Every item of a listing that the store answers a page at a time (SCF windows the whole list itself). */
async function allPages<T>(list: (page: ListOptions) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await list({ limit: 100, ...(nextToken !== undefined && { nextToken }) });
    all.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return all;
}

/** `RoutingKey`, a JSON object of strings as text, held to the same rule as the invoke API's. */
function routingKeyOf(text: string | undefined): RoutingKey | undefined {
  if (text === undefined || text === '') return undefined;
  const issues = new Issues();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    issues.add('RoutingKey', 'must be a JSON object of strings, such as {"User":"Bob"}');
  }
  const key = value === undefined ? undefined : checkRoutingKey(value, 'RoutingKey', issues);
  issues.throwIfAny('Invoke');
  return key;
}

/** SCF's codes for a function's own failures, as `InvokeResult` reports them. */
const FAILURE_CODES: Record<string, number> = {
  UnhandledInvocationError: 430,
  FunctionTimeout: 433,
  MemoryLimitExceeded: 434,
  FunctionInitializationError: 405,
  InstanceCrashed: 439,
};

/**
 * An invocation's outcome as SCF's `Result`: the function's own failures are results too (`InvokeResult`
 * non-zero, `ErrMsg` saying why); the platform's (no such function, version or alias) are the action's errors.
 */
function scfResult(outcome: EventOutcome, requestId: string) {
  const common = {
    FunctionRequestId: requestId,
    // Sluice's addition to SCF's Result: the version that ran, which SCF's wire does not say.
    FunctionVersion:
      outcome.versionId === null ? '' : outcome.versionId === 'LATEST' ? '$LATEST' : outcome.versionId,
    Log: outcome.tail ?? '',
    Duration: Math.round(outcome.durationMs * 1000) / 1000,
    BillDuration: Math.ceil(outcome.durationMs),
    MemUsage: 0,
  };
  if ('result' in outcome)
    return { ...common, RetMsg: outcome.result.toString('utf8'), ErrMsg: '', InvokeResult: 0 };
  const error = outcome.error;
  const code = isSluiceError(error) ? FAILURE_CODES[error.code] : undefined;
  if (code === undefined || !isSluiceError(error)) throw error;
  const details = (error.details ?? {}) as { errorType?: unknown; stackTrace?: unknown };
  const errMsg = {
    errorCode: code,
    errorMessage: error.message,
    errorType: typeof details.errorType === 'string' ? details.errorType : error.code,
    stackTrace: Array.isArray(details.stackTrace) ? details.stackTrace.join('\n') : '',
  };
  return { ...common, RetMsg: '', ErrMsg: JSON.stringify(errMsg), InvokeResult: code };
}

const action = <S extends TSchema>(
  _schema: S,
  spec: {
    need: Need;
    writes: boolean;
    handler: (call: ScfCall<Static<S>>) => Promise<Record<string, unknown>>;
  },
): ScfActionSpec => spec;

/** SCF's actions that Sluice implements, each the same service as its `/v1` counterpart. */
export function scfActions(deps: ScfActionDeps): Record<ScfAction, ScfActionSpec> {
  const { api } = deps;
  const { store } = api;

  const invoke = async (
    call: ScfCall<{
      FunctionName: string;
      Qualifier?: string;
      LogType?: 'None' | 'Tail';
      RoutingKey?: string;
    }>,
    payload: string | undefined,
    defaultQualifier: string,
  ) => {
    const { params } = call;
    const routingKey = routingKeyOf(params.RoutingKey);
    const outcome = await deps.invoke(
      {
        requestId: call.requestId,
        functionName: params.FunctionName,
        qualifier: params.Qualifier ?? defaultQualifier,
        payload: Buffer.from(payload ?? '{}', 'utf8'),
        ...(routingKey && { routingKey }),
      },
      { tail: params.LogType === 'Tail' },
    );
    return { Result: scfResult(outcome, call.requestId) };
  };

  return {
    CreateFunction: action(SCF_PARAMS.CreateFunction, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const input = await withScfNames(() => newFunctionInput(params));
        await withScfNames(() => createFunction(api, input, { zipFile: params.Code.ZipFile }, change));
        return {};
      },
    }),
    GetFunction: action(SCF_PARAMS.GetFunction, {
      need: 'deploy',
      writes: false,
      handler: async ({ params }) => {
        const qualifier = params.Qualifier ?? '$LATEST';
        const { fn, version } = await qualifiedCode(store, params.FunctionName, qualifier);
        return scfFunction(version ?? fn, version ? String(version.version) : '$LATEST');
      },
    }),
    UpdateFunctionCode: action(SCF_PARAMS.UpdateFunctionCode, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const zipFile = params.Code?.ZipFile ?? params.ZipFile;
        if (zipFile === undefined)
          throw new SluiceError(
            'InvalidArgument',
            'UpdateFunctionCode needs the code: Code.ZipFile or ZipFile',
            [{ path: 'ZipFile', message: 'is required' }],
          );
        await withScfNames(() =>
          updateFunction(
            api,
            params.FunctionName,
            {
              code: { zipFile },
              ...(params.Handler !== undefined && { patch: { handler: params.Handler } }),
            },
            change,
          ),
        );
        return {};
      },
    }),
    UpdateFunctionConfiguration: action(SCF_PARAMS.UpdateFunctionConfiguration, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const patch = await withScfNames(() => configPatch(params));
        if (Object.keys(patch).length === 0)
          throw new SluiceError(
            'InvalidArgument',
            'UpdateFunctionConfiguration needs a parameter to change',
            [{ path: 'Description', message: 'or another configuration parameter is required' }],
          );
        await withScfNames(() => updateFunction(api, params.FunctionName, { patch }, change));
        return {};
      },
    }),
    DeleteFunction: action(SCF_PARAMS.DeleteFunction, {
      need: 'deploy',
      writes: true,
      handler: async ({ params }) => {
        const version = params.Qualifier === undefined ? undefined : parseVersionRef(params.Qualifier);
        if (typeof version === 'number') await store.deleteVersion(params.FunctionName, version);
        else await store.deleteFunction(params.FunctionName);
        return {};
      },
    }),
    ListFunctions: action(SCF_PARAMS.ListFunctions, {
      need: 'deploy',
      writes: false,
      handler: async ({ params, functionPrefix }) => {
        const search = params.SearchKey ?? '';
        const within = functionPrefix === undefined ? {} : { prefix: functionPrefix };
        const all = await allPages((page) => store.listFunctions({ ...page, ...within }));
        const found = all.filter((fn) => fn.name.includes(search));
        if (params.Order === 'DESC') found.reverse();
        return { Functions: windowOf(found, params).map(scfFunctionSummary), TotalCount: found.length };
      },
    }),
    PublishVersion: action(SCF_PARAMS.PublishVersion, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const version = await store.publishVersion(params.FunctionName, params.Description ?? '', change);
        return {
          FunctionVersion: String(version.version),
          CodeSize: version.code.size,
          MemorySize: version.config.memorySize,
          Description: version.description,
          Handler: version.config.handler,
          Timeout: version.config.timeout,
          Runtime: scfFunction(version, String(version.version)).Runtime,
          Namespace: 'default',
        };
      },
    }),
    ListVersionByFunction: action(SCF_PARAMS.ListVersionByFunction, {
      need: 'deploy',
      writes: false,
      handler: async ({ params }) => {
        const fn = await requireFunction(store, params.FunctionName);
        const versions = await allPages((page) =>
          store.listVersions(fn.name, { ...page, direction: 'forward' }),
        );
        if (params.Order === 'DESC') versions.reverse();
        const shown = windowOf(versions, params);
        return {
          FunctionVersion: ['$LATEST', ...shown.map((v) => String(v.version))],
          Versions: shown.map(scfVersion),
          TotalCount: versions.length,
        };
      },
    }),
    DeleteFunctionVersion: action(SCF_PARAMS.DeleteFunctionVersion, {
      need: 'deploy',
      writes: true,
      handler: async ({ params }) => {
        await store.deleteVersion(params.FunctionName, Number(params.Qualifier));
        return {};
      },
    }),
    CreateAlias: action(SCF_PARAMS.CreateAlias, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const spec = await withScfNames(() => parseAliasSpec(newAliasInput(params)));
        await store.putAlias(params.FunctionName, params.Name, spec, { ...change, createOnly: true });
        return {};
      },
    }),
    UpdateAlias: action(SCF_PARAMS.UpdateAlias, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const current = await requireAlias(store, params.FunctionName, params.Name);
        const spec = await withScfNames(() => parseAliasSpec(newAliasInput(params, current.spec)));
        // Against the revision read, so that a change made in between is not lost.
        await store.putAlias(params.FunctionName, current.name, spec, {
          ...change,
          expectedRevision: current.revision,
        });
        return {};
      },
    }),
    GetAlias: action(SCF_PARAMS.GetAlias, {
      need: 'deploy',
      writes: false,
      handler: async ({ params }) => scfAlias(await requireAlias(store, params.FunctionName, params.Name)),
    }),
    DeleteAlias: action(SCF_PARAMS.DeleteAlias, {
      need: 'deploy',
      writes: true,
      handler: async ({ params, change }) => {
        const alias = await requireAlias(store, params.FunctionName, params.Name);
        await store.deleteAlias(params.FunctionName, alias.name, change);
        return {};
      },
    }),
    ListAliases: action(SCF_PARAMS.ListAliases, {
      need: 'deploy',
      writes: false,
      handler: async ({ params }) => {
        await requireFunction(store, params.FunctionName);
        const wanted = params.FunctionVersion;
        const aliases = (await store.listAliases(params.FunctionName)).filter(
          (a) => wanted === undefined || scfVersionId(a.spec.version) === wanted,
        );
        return { Aliases: windowOf(aliases, params).map(scfAlias), TotalCount: aliases.length };
      },
    }),
    Invoke: action(SCF_PARAMS.Invoke, {
      need: 'invoke',
      writes: false,
      handler: (call) => invoke(call, call.params.ClientContext, '$LATEST'),
    }),
    InvokeFunction: action(SCF_PARAMS.InvokeFunction, {
      need: 'invoke',
      writes: false,
      handler: (call) => invoke(call, call.params.Event, DEFAULT_ALIAS),
    }),
  };
}
