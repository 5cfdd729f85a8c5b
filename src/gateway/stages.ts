import { bindingFor, routeKey } from '../core/api-gateway.js';
import { SluiceError } from '../core/errors.js';
import type { Catalog } from './catalog.js';
import type { StageContext } from './http-event.js';

/** The function and qualifier a stage binds the request's route to, and what the event says of the stage. */
export function resolveStage(
  catalog: Catalog,
  apiName: string,
  stageName: string,
  method: string,
  path: string,
): { target: { functionName: string; qualifierText: string }; stage: StageContext } {
  const api = catalog.getApi(apiName);
  if (!api) throw new SluiceError('ApiNotFound', `API ${apiName} does not exist`);
  const spec = api.stages.get(stageName);
  if (!spec) throw new SluiceError('StageNotFound', `API ${apiName} has no stage ${stageName}`);
  const match = api.matcher.match(method, path);
  if (!match) throw new SluiceError('RouteNotFound', `API ${apiName} has no route for ${path}`);
  if ('methodNotAllowed' in match) {
    throw new SluiceError(
      'MethodNotAllowed',
      `API ${apiName} does not take ${method} on ${path}; use ${match.methodNotAllowed.join(', ')}`,
      {
        allowed: match.methodNotAllowed,
      },
    );
  }
  const binding = bindingFor(spec, match.route);
  return {
    target: { functionName: binding.function, qualifierText: binding.qualifier },
    stage: {
      apiName,
      stage: stageName,
      route: routeKey(match.route),
      pathParameters: match.pathParameters,
      stageVariables: spec.variables,
    },
  };
}
