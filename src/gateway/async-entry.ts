import type { IncomingMessage } from 'node:http';
import { SluiceError } from '../core/errors.js';
import { MAX_ASYNC_PAYLOAD_BYTES, type NewAsyncEvent } from '../core/async-invocation.js';
import { parseQualifier } from '../core/names.js';
import { qualifierLabel } from '../core/qualifier.js';
import { readBody } from '../http/body.js';
import type { FunctionSnapshot } from './catalog.js';
import { requestRoutingKey } from './request-attributes.js';
import { PIN_HEADER } from './select-version.js';

/** Function Compute's header: `Async` queues the invocation and answers 202 at once; `Sync` (the default) waits. */
export const INVOCATION_TYPE_HEADER = 'x-fc-invocation-type';
/** The same choice in the query string, for callers that cannot set headers. */
export const ASYNC_PARAM = 'async';

/** Whether an invoke API request asks to be queued; a value that is neither choice is refused, not guessed. */
export function isAsyncRequest(req: IncomingMessage, url: URL): boolean {
  const header = req.headers[INVOCATION_TYPE_HEADER];
  const params = url.searchParams.getAll(ASYNC_PARAM);
  if (header === undefined && params.length === 0) return false;
  const issues: { path: string; message: string }[] = [];
  let fromHeader: boolean | undefined;
  if (header !== undefined) {
    fromHeader = header === 'Async' ? true : header === 'Sync' ? false : undefined;
    if (fromHeader === undefined)
      issues.push({ path: INVOCATION_TYPE_HEADER, message: 'must be Async or Sync' });
  }
  let fromQuery: boolean | undefined;
  if (params.length > 1) issues.push({ path: ASYNC_PARAM, message: 'is given more than once' });
  else if (params.length === 1) {
    fromQuery = params[0] === 'true' ? true : params[0] === 'false' ? false : undefined;
    if (fromQuery === undefined) issues.push({ path: ASYNC_PARAM, message: 'must be true or false' });
  }
  if (issues.length === 0 && fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery)
    issues.push({ path: ASYNC_PARAM, message: `contradicts ${INVOCATION_TYPE_HEADER}` });
  if (issues.length > 0)
    throw new SluiceError(
      'InvalidArgument',
      `the invocation type is invalid: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      issues,
    );
  return (fromHeader ?? fromQuery) === true;
}

/**
 * An asynchronous invocation as the invoke API takes it: checked now against what the data plane knows (the
 * function, the qualifier, the routing key, the size), so that a bad request is refused with a clear error
 * rather than failing later in the queue. The version is not chosen here but when the event runs.
 */
export async function asyncEvent(
  req: IncomingMessage,
  url: URL,
  requestId: string,
  snapshot: FunctionSnapshot,
): Promise<NewAsyncEvent> {
  if (req.headers[PIN_HEADER] !== undefined)
    throw new SluiceError('InvalidArgument', `${PIN_HEADER} applies to synchronous invocations only`, [
      { path: PIN_HEADER, message: 'is not taken with an asynchronous invocation' },
    ]);
  if (req.headers['x-fc-log-type'] !== undefined)
    throw new SluiceError(
      'InvalidArgument',
      'x-fc-log-type applies to synchronous invocations only: an asynchronous one has its log in the logs API',
      [{ path: 'x-fc-log-type', message: 'is not taken with an asynchronous invocation' }],
    );
  const qualifier = parseQualifier(url.searchParams.get('qualifier') ?? undefined);
  if (qualifier.kind === 'alias' && !snapshot.aliases.has(qualifier.alias))
    throw new SluiceError('AliasNotFound', `function ${snapshot.name} has no alias ${qualifier.alias}`);
  if (qualifier.kind === 'version' && !snapshot.versions.has(qualifier.version))
    throw new SluiceError('VersionNotFound', `function ${snapshot.name} has no version ${qualifier.version}`);
  const routingKey = requestRoutingKey(req.headers, url.searchParams);
  const payload = await readBody(req, MAX_ASYNC_PAYLOAD_BYTES);
  return {
    id: requestId,
    functionName: snapshot.name,
    qualifier: qualifierLabel(qualifier),
    payload,
    ...(routingKey && { routingKey }),
    source: 'async',
    createdAt: Date.now(),
  };
}
