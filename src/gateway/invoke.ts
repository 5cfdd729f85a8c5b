import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenVerifier } from '../auth/tokens.js';
import { SluiceError, isSluiceError } from '../core/errors.js';
import { LATEST, parseQualifier } from '../core/names.js';
import { primaryVersion, qualifierLabel } from '../core/qualifier.js';
import { readBody } from '../http/body.js';
import { sendError } from '../http/respond.js';
import type { LogBuffer } from '../logs/log-buffer.js';
import type { RunnableVersion } from '../runtime/instance.js';
import type { InstancePool } from '../runtime/pool.js';
import type { Catalog } from './catalog.js';

export interface InvokeDeps {
  catalog: Catalog;
  pool: InstancePool;
  tokens: TokenVerifier;
  logs: LogBuffer;
  maxPayloadBytes: number;
  log: (line: string) => void;
}

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  bytes: 'application/octet-stream',
  json: 'application/json',
};
const LOG_TAIL_BYTES = 4096;

/** `POST /v1/functions/{name}/invocations?qualifier=Q`: the synchronous invoke API. */
export function invokeHandler(deps: InvokeDeps) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, encodedName: string): Promise<void> => {
    const requestId = randomUUID();
    res.setHeader('x-fc-request-id', requestId);
    let functionName = encodedName;
    try {
      functionName = decodeURIComponent(encodedName);
      if (req.method !== 'POST') {
        throw new SluiceError(
          'MethodNotAllowed',
          `${req.method ?? ''} is not allowed on ${url.pathname}; use POST`,
          {
            allowed: ['POST'],
          },
        );
      }
      await deps.tokens.authenticate(req);
      const snapshot = deps.catalog.get(functionName);
      if (!snapshot) throw new SluiceError('FunctionNotFound', `function ${functionName} does not exist`);
      const qualifier = parseQualifier(url.searchParams.get('qualifier') ?? undefined);
      const ref = primaryVersion(functionName, qualifier, snapshot.aliases);
      const version = ref === LATEST ? snapshot.latest : snapshot.versions.get(ref);
      if (!version)
        throw new SluiceError('VersionNotFound', `function ${functionName} has no version ${String(ref)}`);
      res.setHeader('x-fc-invocation-function-version', version.versionId);
      const payload = await readBody(req, deps.maxPayloadBytes);
      const started = performance.now();
      let outcome: { result?: Awaited<ReturnType<InstancePool['invoke']>>; error?: unknown } = {};
      try {
        outcome.result = await deps.pool.invoke(version, {
          requestId,
          qualifier: qualifierLabel(qualifier),
          payload,
        });
      } catch (error) {
        outcome = { error };
      }
      report(
        deps.logs,
        version,
        qualifierLabel(qualifier),
        requestId,
        performance.now() - started,
        outcome.result?.initDurationMs,
      );
      if (req.headers['x-fc-log-type'] === 'Tail') {
        res.setHeader('x-fc-log-result', deps.logs.tail(requestId, LOG_TAIL_BYTES).toString('base64'));
      }
      if (!outcome.result) throw outcome.error;
      const { result } = outcome.result;
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[result.kind],
        'content-length': result.body.length,
      });
      res.end(result.body);
    } catch (error) {
      if (isSluiceError(error)) res.setHeader('x-fc-error-type', error.code);
      sendError(res, error, requestId, (e) => {
        deps.log(`error ${requestId} invoking ${functionName}: ${(e as Error).stack ?? String(e)}`);
      });
    }
  };
}

/** The platform's last line of every invocation's log, as Lambda and FC print it. */
function report(
  logs: LogBuffer,
  version: RunnableVersion,
  qualifier: string,
  requestId: string,
  durationMs: number,
  initDurationMs: number | undefined,
): void {
  const init = initDurationMs === undefined ? '' : ` Init Duration: ${initDurationMs.toFixed(2)} ms`;
  logs.append({
    at: Date.now(),
    functionName: version.functionName,
    versionId: version.versionId,
    qualifier,
    requestId,
    stream: 'platform',
    text: `REPORT RequestId: ${requestId} Version: ${version.versionId} Duration: ${durationMs.toFixed(2)} ms${init}\n`,
  });
}
