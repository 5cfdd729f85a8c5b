import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SluiceError } from '../core/errors.js';
import { SCF_PARAMS, type ScfAction } from '../contract/schemas/scf.js';
import { type Validator, validator } from '../contract/validate.js';
import { jsonCodeLimit } from '../api/code-input.js';
import { type Changed, JSON_LIMIT } from '../api/context.js';
import { sendJson } from '../http/respond.js';
import type { AccessKeys } from '../auth/signed-request.js';
import { type Need, type ScfActionDeps, type ScfActionSpec, scfActions } from './actions.js';
import { sendScfError } from './errors.js';
import { authenticateTc3 } from './signed.js';

/** The version of SCF's API that Sluice speaks. */
export const SCF_VERSION = '2018-04-16';

/** Who signed a request, as the credentials describe them. */
export interface ScfPrincipal {
  /** As histories record the credential. */
  actor: string;
  /** When set, the credential reaches only functions whose names start with it. */
  functionPrefix?: string;
}

export interface ScfDeps<P extends ScfPrincipal> extends ScfActionDeps {
  accessKeys: AccessKeys<P>;
  /** Refuses (Forbidden) what the principal may not do, on one function or, without one, at all. */
  authorize: (principal: P, need: Need, functionName?: string) => void;
  /** Called after every write, before its answer, so that the data plane serves what the caller was told. */
  changed: (what: Changed) => Promise<void>;
  maxPayloadBytes: number;
  log: (line: string) => void;
}

/** SCF's API is one endpoint, `POST /`, that names the action in a header. */
export function isScfRequest(req: IncomingMessage): boolean {
  return req.headers['x-tc-action'] !== undefined;
}

const CODE_ACTIONS: readonly ScfAction[] = ['CreateFunction', 'UpdateFunctionCode'];
const INVOKE_ACTIONS: readonly ScfAction[] = ['Invoke', 'InvokeFunction'];
/** An event's bytes travel as a JSON string: escaped, they may take up to six times as many. */
const ESCAPED_PAYLOAD_FACTOR = 6;

function isAction(name: string): name is ScfAction {
  return Object.hasOwn(SCF_PARAMS, name);
}

/**
 * Tencent SCF's cloud API (`POST /`, `X-TC-Action`, version 2018-04-16), so that SCF's SDKs and `tccli` work
 * against Sluice: requests authenticated by their `TC3-HMAC-SHA256` signature with an access key and authorized
 * by its scope, parameters and answers in SCF's shapes (`{"Response": {…, "RequestId"}}`, errors always HTTP
 * 200), every action served by the same services and store as `/v1`, invocations by the same data plane.
 */
export function createScfApi<P extends ScfPrincipal>(deps: ScfDeps<P>) {
  const actions = scfActions(deps);
  const validators = new Map<ScfAction, Validator<(typeof SCF_PARAMS)[ScfAction]>>();
  const check = (name: ScfAction) => {
    let found = validators.get(name);
    if (!found) validators.set(name, (found = validator(SCF_PARAMS[name])));
    return found;
  };
  const signed = { accessKeys: deps.accessKeys, clock: deps.api.clock };
  const limitOf = (name: ScfAction) =>
    CODE_ACTIONS.includes(name)
      ? jsonCodeLimit(deps.api.codeLimits)
      : INVOKE_ACTIONS.includes(name)
        ? JSON_LIMIT + deps.maxPayloadBytes * ESCAPED_PAYLOAD_FACTOR
        : JSON_LIMIT;

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const name = String(req.headers['x-tc-action']);
    if (req.method !== 'POST')
      throw new SluiceError(
        'PathNotSupported',
        `SCF's API takes POST requests with a JSON body, not ${req.method ?? ''}`,
      );
    const version = req.headers['x-tc-version'];
    if (version !== SCF_VERSION)
      throw new SluiceError(
        'InvalidArgument',
        `X-TC-Version must be ${SCF_VERSION}, not ${String(version)}`,
        [{ path: 'X-TC-Version', message: `must be ${SCF_VERSION}` }],
      );
    if (!isAction(name))
      throw new SluiceError(
        'PathNotSupported',
        `Sluice does not implement SCF's ${name}; it implements ${Object.keys(SCF_PARAMS).join(', ')}`,
      );
    const { principal, body } = await authenticateTc3(req, signed, limitOf(name));
    let parsed: unknown;
    try {
      parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new SluiceError('MalformedRequest', `the body is not valid JSON: ${(error as Error).message}`);
    }
    const params = check(name)(parsed) as { FunctionName?: string };
    const spec: ScfActionSpec = actions[name];
    deps.authorize(principal, spec.need, params.FunctionName);
    const result = await spec.handler({
      params: params as never,
      requestId,
      functionPrefix: principal.functionPrefix,
      change: { actor: principal.actor, now: deps.api.clock().toISOString() },
    });
    // The data plane must see a write before its caller does, so that a request right after it is served by it.
    if (spec.writes && params.FunctionName !== undefined)
      await deps.changed({ function: params.FunctionName });
    sendJson(res, 200, { Response: { ...result, RequestId: requestId } });
  }

  return {
    actions: Object.keys(actions) as ScfAction[],
    handle(req: IncomingMessage, res: ServerResponse): void {
      const requestId = randomUUID();
      serve(req, res, requestId).catch((error: unknown) => {
        sendScfError(res, error, requestId, (e) => {
          deps.log(
            `error ${requestId} SCF ${String(req.headers['x-tc-action'])}: ${(e as Error).stack ?? String(e)}`,
          );
        });
      });
    },
  };
}
