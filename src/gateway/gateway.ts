import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CredentialVerifier } from '../auth/credentials.js';
import { authorize } from '../core/credentials.js';
import { SluiceError, isSluiceError } from '../core/errors.js';
import { parseQualifier } from '../core/names.js';
import { qualifierLabel } from '../core/qualifier.js';
import { readBody } from '../http/body.js';
import { decodeSegment } from '../http/router.js';
import { sendError } from '../http/respond.js';
import { type InvocationOutput, tailOf } from '../logs/invocation-output.js';
import type { TelemetryRecorder } from '../metrics/recorder.js';
import { outcomeOf, reportLine, toMicros } from '../core/telemetry.js';
import type { InvocationResult, RunnableVersion } from '../runtime/instance.js';
import type { InstancePool } from '../runtime/pool.js';
import type { Catalog } from './catalog.js';
import { CONTENT_TYPES, type EventContext, httpAnswer, httpEvent, type StageContext } from './http-event.js';
import { resolveStage } from './stages.js';
import { requestLookup, requestRoutingKey } from './request-attributes.js';
import { PIN_HEADER, pinnedVersion, selectVersion } from './select-version.js';
import { asyncEvent, isAsyncRequest } from './async-entry.js';
import type { NewAsyncEvent } from '../core/async-invocation.js';
import type { RoutingKey } from '../core/routing-key.js';

export interface GatewayDeps {
  catalog: Catalog;
  pool: InstancePool;
  credentials: CredentialVerifier;
  /** What each invocation in flight writes, until it is recorded. */
  output: InvocationOutput;
  /** Where every invocation's outcome goes: metrics and logs, or nowhere when telemetry is off. */
  telemetry: Pick<TelemetryRecorder, 'record'>;
  maxPayloadBytes: number;
  /** Stores an asynchronous invocation durably, for the dispatcher to run. */
  enqueue: (event: NewAsyncEvent) => Promise<void>;
  /** Tenant pages are served from the console's origin, and so in a sandbox of their own (CSP). */
  sharedOrigin: boolean;
  log: (line: string) => void;
}

const LOG_TAIL_BYTES = 4096;
/** An invocation without a request has no query string of its own. */
const NO_QUERY = new URLSearchParams();
const LOG_TYPE_HEADER = 'x-fc-log-type';
/**
 * A page on the console's origin could read the console's token; sandboxed without `allow-same-origin` it
 * runs in an origin of its own. Browsers enforce this beside any policy the handler sends.
 */
const SHARED_ORIGIN_POLICY =
  'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads allow-top-navigation-by-user-activation';

/**
 * An invocation no HTTP request carries to the function: an asynchronous event, a timer's firing, a queue's
 * message, a vendor API's call.
 */
export interface QueuedInvocation {
  requestId: string;
  functionName: string;
  /** An alias, a version number, `$LATEST` or `LATEST`. */
  qualifier: string;
  payload: Buffer;
  routingKey?: RoutingKey;
  /** What queued it (`async`, `timer:<name>`), recorded with its metrics and log; none for a vendor API's call. */
  source?: string;
}

/**
 * How it went: the version its qualifier chose (none when that failed), the outcome, how long it ran, and the
 * tail of its log (closed by its REPORT line) when asked.
 */
export type EventOutcome = (
  { versionId: string; result: Buffer } | { versionId: string | null; error: unknown }
) & {
  durationMs: number;
  tail?: string;
};

/** The function and qualifier a request names, once its entry point has read them. */
export interface Target {
  functionName: string;
  qualifierText: string | undefined;
}

/** A response as it is written. */
interface Answer {
  statusCode: number;
  /** Names and values in turn, as `writeHead` takes them; a name may come more than once. */
  headers: string[];
  body: Buffer;
}

/** What every entry point does with a request once it knows the function, the qualifier and the payload. */
interface Entry {
  /** HTTP triggers may be open to anonymous callers; the invoke API never is. */
  anonymousAllowed: boolean;
  /** The invoke API's query string is the platform's and may carry the routing key; a trigger's is the function's. */
  routingKeyInQuery: boolean;
  /** Turns the raw request body into the handler's event. */
  event: (body: Buffer, context: EventContext) => Buffer | string;
  /** The event describes an HTTP request, which a custom runtime's server gets as that request. */
  http: boolean;
  /**
   * What the handler's result becomes as a response, with `note` for the invocation's log. It runs as part of
   * the invocation, so that a result that cannot be sent is recorded as the failure it is.
   */
  respond: (result: InvocationResult, note: (text: string) => void) => Answer;
  /** Another wire's way in (Function Compute's API): its own check of the caller, and its own error answers. */
  wire?: Wire;
}

/** What a vendor's wire brings to an invocation: how it authenticates and authorizes, and how it fails. */
export interface Wire {
  /** Refuses a caller who may not invoke the function; runs before anything tells whether it exists. */
  authenticate: (functionName: string) => Promise<void>;
  fail: (res: ServerResponse, error: unknown, requestId: string) => void;
}

/**
 * The data plane: the invoke API (`POST /v1/functions/{name}/invocations?qualifier=Q`) and HTTP triggers
 * (`ANY /fn/{name}/{qualifier}/{path…}`). Both route through the alias the same way and report the version
 * that ran in `x-fc-invocation-function-version` and `x-fc-invocation-service-version`.
 */
export function createGateway(deps: GatewayDeps) {
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    /**
     * Read from the path, or found by a lookup (a stage's route): called inside the try, so that a name that
     * cannot be read is answered as the caller's error.
     */
    target: () => Target | Promise<Target>,
    entry: Entry,
  ): Promise<void> {
    const requestId = randomUUID();
    let functionName = '';
    let versionId: string | undefined;
    try {
      // Awaited only when it is a promise: an await of anything else still costs the request a turn.
      const found = target();
      const { functionName: name, qualifierText } = found instanceof Promise ? await found : found;
      functionName = name;
      const snapshot = deps.catalog.get(functionName);
      // An anonymous trigger answers anyone; everything else needs a token, checked before a 404 can tell
      // a stranger which functions exist.
      const pin = req.headers[PIN_HEADER] as string | undefined;
      const tail = req.headers[LOG_TYPE_HEADER] === 'Tail';
      // A pin and the log's tail need a token even where the trigger is open: a token holder may ask for
      // either on an anonymous trigger, a stranger for neither.
      const open = entry.anonymousAllowed && snapshot?.trigger.authType === 'anonymous';
      if (open && req.headers.authorization === undefined) {
        if (pin !== undefined)
          throw new SluiceError(
            'Forbidden',
            `${PIN_HEADER} needs a token: anonymous callers are routed by the alias`,
          );
        if (tail)
          throw new SluiceError(
            'Forbidden',
            `${LOG_TYPE_HEADER}: Tail needs a token: the function's logs are not for anonymous callers`,
          );
      }
      const anonymous = open && pin === undefined && !tail;
      // Every scope may invoke; a credential limited to a prefix, only the functions within it. Another wire
      // checks its callers its own way.
      if (entry.wire) await entry.wire.authenticate(functionName);
      else if (!anonymous) authorize(await deps.credentials.authenticate(req), 'invoke', functionName);
      if (!snapshot) throw new SluiceError('FunctionNotFound', `function ${functionName} does not exist`);
      const qualifier = parseQualifier(qualifierText);
      const routingKey = requestRoutingKey(
        req.headers,
        entry.routingKeyInQuery ? url.searchParams : undefined,
      );
      const version =
        pin === undefined
          ? selectVersion(snapshot, qualifier, requestLookup(req.headers, url.searchParams, routingKey))
          : pinnedVersion(snapshot, qualifier, pin);
      versionId = version.versionId;
      const label = qualifierLabel(qualifier);
      const payload = entry.event(await readBody(req, deps.maxPayloadBytes), {
        authenticated: !anonymous,
        requestId,
        functionName,
        qualifier: label,
        now: Date.now(),
      });
      const event = { payload, http: entry.http };
      const answer = await run(version, label, requestId, event, { caller: res, tail }, (result) =>
        entry.respond(result, (text) => {
          deps.output.append(requestId, text);
        }),
      );
      // One array, with no header set on the response before it: Node then writes them as they are, where each
      // header set beforehand cost an entry of its own and a lower-cased copy of its name.
      res.writeHead(answer.statusCode, platformHeaders(requestId, versionId).concat(answer.headers));
      res.end(answer.body);
    } catch (error) {
      if (!res.headersSent) {
        const headers = platformHeaders(requestId, versionId);
        for (let i = 0; i < headers.length; i += 2)
          res.setHeader(headers[i] as string, headers[i + 1] as string);
      }
      if (entry.wire) {
        entry.wire.fail(res, error, requestId);
        return;
      }
      if (isSluiceError(error)) res.setHeader('x-fc-error-type', error.code);
      sendError(res, error, requestId, (e) => {
        deps.log(`error ${requestId} invoking ${functionName}: ${(e as Error).stack ?? String(e)}`);
      });
    }
  }

  /** Runs one invocation, records it, and returns its log's tail, closed by the REPORT line, when asked. */
  async function run<T>(
    version: RunnableVersion,
    qualifier: string,
    requestId: string,
    event: { payload: Buffer | string; http?: boolean },
    /** The caller's response, if a caller waits for one, whether it asked for the log's tail and who gets it; or what queued it. */
    to: { caller?: ServerResponse; tail?: boolean; onTail?: (tail: string) => void; source?: string },
    respond: (result: InvocationResult) => T,
  ): Promise<T> {
    const caller = to.caller;
    const startedAt = Date.now();
    const started = performance.now();
    let errorCode: string | undefined;
    let initDurationMs: number | undefined;
    let provisioned = false;
    deps.output.begin(requestId);
    try {
      const result = await deps.pool.invoke(
        version,
        { requestId, qualifier, payload: event.payload, http: event.http },
        (ms, onProvisioned) => {
          if (ms !== undefined) initDurationMs = toMicros(ms);
          provisioned = onProvisioned;
        },
        caller && ((onGone) => whenClosed(caller, onGone)),
      );
      return respond(result);
    } catch (error) {
      errorCode = isSluiceError(error) ? error.code : 'InternalError';
      logFailure(deps.output, requestId, error);
      throw error;
    } finally {
      const durationMs = toMicros(performance.now() - started);
      const text = deps.output.end(requestId);
      // An invocation whose caller left before it got an instance never ran: nothing of the function's to count.
      if (errorCode !== 'RequestCancelled')
        deps.telemetry.record(
          {
            functionName: version.functionName,
            versionId: version.versionId,
            qualifier,
            requestId,
            startedAt,
            endedAt: Date.now(),
            durationMs,
            outcome: outcomeOf(errorCode),
            errorCode,
            initDurationMs,
            provisioned,
            ...(to.source !== undefined && { source: to.source }),
          },
          text,
        );
      if (to.tail) {
        const tail = tailOf(
          text + reportLine(requestId, version.versionId, durationMs, initDurationMs),
          LOG_TAIL_BYTES,
        );
        caller?.setHeader('x-fc-log-result', tail.toString('base64'));
        to.onTail?.(tail.toString('utf8'));
      }
    }
  }

  const invokeEntry: Entry = {
    anonymousAllowed: false,
    routingKeyInQuery: true,
    event: (body) => body,
    http: false,
    respond: (result) => ({
      statusCode: 200,
      headers: ['content-type', CONTENT_TYPES[result.kind], 'content-length', String(result.body.length)],
      body: result.body,
    }),
  };

  return {
    invoke(req: IncomingMessage, res: ServerResponse, url: URL, encodedName: string): Promise<void> {
      if (req.method !== 'POST') {
        const error = new SluiceError(
          'MethodNotAllowed',
          `${req.method ?? ''} is not allowed on ${url.pathname}; use POST`,
          {
            allowed: ['POST'],
          },
        );
        sendError(res, error, randomUUID(), (e) => {
          deps.log(String(e));
        });
        return Promise.resolve();
      }
      try {
        if (isAsyncRequest(req, url)) return accept(req, res, url, encodedName);
      } catch (error) {
        sendError(res, error, randomUUID(), (e) => {
          deps.log(String(e));
        });
        return Promise.resolve();
      }
      const qualifierText = url.searchParams.get('qualifier') ?? undefined;
      return serve(
        req,
        res,
        url,
        () => ({ functionName: decodeSegment(encodedName), qualifierText }),
        invokeEntry,
      );
    },

    /**
     * The invoke API of another wire (`POST /2023-03-30/functions/{name}/invocations`): routed as `/v1`'s, the
     * caller checked and failures answered the wire's way. Its query is the wire's, never a routing key.
     */
    invokeThrough(
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      target: Target,
      wire: Wire,
    ): Promise<void> {
      return serve(req, res, url, () => target, {
        ...invokeEntry,
        routingKeyInQuery: false,
        wire,
      });
    },

    trigger(
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      encodedName: string,
      /** Undefined for `/fn/{name}` and `/fn/{name}/`: `$DEFAULT`, as on the invoke API. */
      qualifier: string | undefined,
      rawPath: string,
    ): Promise<void> {
      return serve(
        req,
        res,
        url,
        () => ({ functionName: decodeSegment(encodedName), qualifierText: qualifier }),
        httpEntry(req, url, rawPath, undefined),
      );
    },

    /**
     * Runs an invocation that no HTTP request carries through its qualifier's routing, as the invoke API runs
     * one: the version is chosen now, from the routing key (which header rules read, as there are no headers).
     */
    async invokeEvent(event: QueuedInvocation, options: { tail?: boolean } = {}): Promise<EventOutcome> {
      let versionId: string | null = null;
      let tail: string | undefined;
      const started = performance.now();
      const report = () => ({
        durationMs: performance.now() - started,
        ...(tail !== undefined && { tail }),
      });
      try {
        const snapshot = deps.catalog.get(event.functionName);
        if (!snapshot)
          throw new SluiceError('FunctionNotFound', `function ${event.functionName} does not exist`);
        const qualifier = parseQualifier(event.qualifier);
        const version = selectVersion(snapshot, qualifier, requestLookup({}, NO_QUERY, event.routingKey));
        versionId = version.versionId;
        const result = await run(
          version,
          qualifierLabel(qualifier),
          event.requestId,
          { payload: event.payload },
          {
            tail: options.tail === true,
            onTail: (text) => {
              tail = text;
            },
            ...(event.source !== undefined && { source: event.source }),
          },
          (r) => r.body,
        );
        return { versionId, result, ...report() };
      } catch (error) {
        return { versionId, error, ...report() };
      }
    },

    /** Runs one version directly, as a rollout's pre-traffic check does; rejects with its error. */
    async invokeVersion(functionName: string, version: number, payload: Buffer): Promise<void> {
      const snapshot = deps.catalog.get(functionName);
      if (!snapshot) throw new SluiceError('FunctionNotFound', `function ${functionName} does not exist`);
      const runnable = selectVersion(snapshot, { kind: 'version', version }, () => undefined);
      await run(runnable, String(version), randomUUID(), { payload }, {}, () => undefined);
    },

    /** `ANY /gw/{api}/{stage}/{path…}`: through the stage's binding of the matching route. */
    stage(
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      apiName: string,
      stageName: string,
      rawPath: string,
    ): Promise<void> {
      let stage: StageContext | undefined;
      const target = async (): Promise<Target> => {
        try {
          const found = resolveStage(deps.catalog, apiName, stageName, req.method ?? 'GET', rawPath);
          stage = found.stage;
          return found.target;
        } catch (error) {
          // Only token holders learn which APIs, stages and routes exist.
          await deps.credentials.authenticate(req);
          throw error;
        }
      };
      return serve(
        req,
        res,
        url,
        target,
        httpEntry(req, url, rawPath, () => stage),
      );
    },
  };

  /** `x-fc-invocation-type: Async`: checked, stored, and answered 202 with the request id. */
  async function accept(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    encodedName: string,
  ): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-fc-request-id', requestId);
    try {
      const functionName = decodeSegment(encodedName);
      authorize(await deps.credentials.authenticate(req), 'invoke', functionName);
      const snapshot = deps.catalog.get(functionName);
      if (!snapshot) throw new SluiceError('FunctionNotFound', `function ${functionName} does not exist`);
      await deps.enqueue(await asyncEvent(req, url, requestId, snapshot));
      const body = Buffer.from(JSON.stringify({ requestId, status: 'queued' }));
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    } catch (error) {
      sendError(res, error, requestId, (e) => {
        deps.log(`error ${requestId} queueing an invocation: ${(e as Error).stack ?? String(e)}`);
      });
    }
  }

  function httpEntry(
    req: IncomingMessage,
    url: URL,
    rawPath: string,
    stage: (() => StageContext | undefined) | undefined,
  ): Entry {
    return {
      anonymousAllowed: true,
      routingKeyInQuery: false,
      event: (body, context) => httpEvent(req, url, rawPath, body, context, stage?.()),
      http: true,
      respond: (result, note) => {
        const answer = httpAnswer(result);
        if (answer.dropped.length > 0)
          note(`dropped the handler's ${answer.dropped.join(', ')}: the platform sets these headers\n`);
        const headers = ['content-length', String(answer.body.length)];
        for (const name of Object.keys(answer.headers)) headers.push(name, answer.headers[name] as string);
        // Beside the handler's own policy, if it sent one: a browser enforces both.
        if (deps.sharedOrigin) headers.push('content-security-policy', SHARED_ORIGIN_POLICY);
        return { statusCode: answer.statusCode, headers, body: answer.body };
      },
    };
  }
}

/**
 * The headers of every answer: its request id and, once chosen, the version that ran. Function Compute's
 * editions name the version differently (seed 001 reads the second): both are sent.
 */
function platformHeaders(requestId: string, versionId: string | undefined): string[] {
  return versionId === undefined
    ? ['x-fc-request-id', requestId]
    : [
        'x-fc-request-id',
        requestId,
        'x-fc-invocation-function-version',
        versionId,
        'x-fc-invocation-service-version',
        versionId,
      ];
}

/** Why an invocation failed, in its own log: the handler's error with its stack, or the platform's. */
function logFailure(output: InvocationOutput, requestId: string, error: unknown): void {
  if (!isSluiceError(error)) return;
  const details = error.details as { errorType?: string; stackTrace?: string[] } | undefined;
  const stack = Array.isArray(details?.stackTrace)
    ? details.stackTrace.map((line) => `    ${line}\n`).join('')
    : '';
  const type = details?.errorType === undefined ? error.code : `${error.code} ${details.errorType}`;
  output.append(requestId, `ERROR ${type}: ${error.message}\n${stack}`);
}

/** Calls `onGone` if the connection closes before the response was sent; returns the unsubscription. */
export function whenClosed(res: ServerResponse, onGone: () => void): () => void {
  const listener = (): void => {
    if (!res.writableFinished) onGone();
  };
  // Asked again for an invocation that must find another instance, its caller may have gone already.
  if (res.closed) {
    listener();
    return () => undefined;
  }
  res.once('close', listener);
  return () => {
    res.off('close', listener);
  };
}
