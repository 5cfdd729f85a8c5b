import type { ServerResponse } from 'node:http';
import { parseDuration, parseTimeAgo } from '../core/duration.js';
import { SluiceError } from '../core/errors.js';
import { LATEST, parseQualifier } from '../core/names.js';
import { LATEST_VERSION_ID, qualifierLabel } from '../core/qualifier.js';
import { type InvocationLog, type LogFilter, logText, toMicros } from '../core/telemetry.js';
import { openEventStream } from '../http/event-stream.js';
import { aggregate } from '../metrics/aggregate.js';
import { LogList, type LogView, MetricsView } from '../contract/schemas/telemetry.js';
import { type ApiDeps, type ApiRequest, type ApiRoute, JsonOrEvents } from './context.js';
import { functionParam, optionalQuery } from './params.js';
import { requireFunction } from './services.js';
import { getRoute } from './plain-routes.js';

function invalid(parameter: string, message: string): SluiceError {
  return new SluiceError('InvalidArgument', `${parameter} ${message}`, [{ path: parameter, message }]);
}

function timeParam(request: ApiRequest, name: string, now: number): number | undefined {
  const text = optionalQuery(request, name);
  if (text === undefined) return undefined;
  const at = parseTimeAgo(text, now);
  if (at === undefined)
    throw invalid(name, 'must be a duration before now (30s, 10m, 2h, 7d) or an ISO 8601 time');
  return at;
}

function logView(log: InvocationLog): LogView {
  return {
    id: log.id ?? null,
    at: new Date(log.at).toISOString(),
    functionName: log.functionName,
    qualifier: log.qualifier ?? null,
    versionId: log.versionId,
    requestId: log.requestId ?? null,
    durationMs: log.durationMs === undefined ? null : toMicros(log.durationMs),
    initDurationMs: log.initDurationMs === undefined ? null : toMicros(log.initDurationMs),
    outcome: log.outcome,
    errorCode: log.errorCode ?? null,
    text: logText(log),
    ...(log.source !== undefined && { source: log.source }),
  };
}

function matches(log: InvocationLog, filter: LogFilter): boolean {
  return (
    (filter.qualifier === undefined || log.qualifier === filter.qualifier) &&
    (filter.versionId === undefined || log.versionId === filter.versionId) &&
    (filter.requestId === undefined || log.requestId === filter.requestId) &&
    (filter.text === undefined || logText(log).toLowerCase().includes(filter.text.toLowerCase()))
  );
}

const STREAM_OPTIONS = { heartbeatMs: 15_000, maxQueued: 1000 };

export function telemetryRoutes({ store, clock, logFeed }: ApiDeps): ApiRoute[] {
  return [
    getRoute(
      {
        path: '/v1/functions/{name}/metrics',
        summary:
          'Invocations, errors, throttles, cold starts and latency percentiles per version or qualifier (since, until, step, by), of one qualifier or version if asked (qualifier, version)',
        query: ['since', 'until', 'step', 'by', 'qualifier', 'version'],
        responses: { 200: MetricsView },
      },
      async (request) => {
        const name = functionParam(request);
        const now = clock().getTime();
        const until = timeParam(request, 'until', now) ?? now;
        const since = timeParam(request, 'since', now) ?? now - 15 * 60_000;
        if (since >= until) throw invalid('since', 'must be before until');
        const by = optionalQuery(request, 'by') ?? 'version';
        if (by !== 'version' && by !== 'qualifier') throw invalid('by', 'must be version or qualifier');
        const stepText = optionalQuery(request, 'step');
        const stepMs =
          stepText === undefined ? (until - since <= 3_600_000 ? 10_000 : 60_000) : parseDuration(stepText);
        if (stepMs === undefined || stepMs < 10_000 || stepMs % 10_000 !== 0) {
          throw invalid('step', 'must be a multiple of 10s, such as 10s, 1m or 5m');
        }
        const step = stepMs / 1000;
        if ((until - since) / stepMs > 10_000)
          throw invalid('step', 'makes more than 10 000 points: choose a larger one');
        // Only the traffic through one qualifier (an alias's primary and canary) or of one version, as logs take.
        const qualifier = optionalQuery(request, 'qualifier');
        const qualifierId = qualifier === undefined ? undefined : qualifierLabel(parseQualifier(qualifier));
        const version = optionalQuery(request, 'version');
        if (version !== undefined && version !== LATEST && !/^[1-9][0-9]{0,9}$/.test(version))
          throw invalid('version', 'must be a version number or $LATEST');
        const versionId = version === LATEST ? LATEST_VERSION_ID : version;
        await requireFunction(store, name);
        const resolution = step % 60 === 0 ? 60 : 10;
        const from = Math.floor(since / 1000);
        const to = Math.ceil(until / 1000);
        const rows = (await store.queryMetrics(name, resolution, from - (from % step), to)).filter(
          (row) =>
            (qualifierId === undefined || row.qualifier === qualifierId) &&
            (versionId === undefined || row.versionId === versionId),
        );
        const { series, totals } = aggregate(rows, by, from, to, step);
        return {
          functionName: name,
          from: new Date(since).toISOString(),
          until: new Date(until).toISOString(),
          step,
          by,
          totals,
          series: series.map((s) => ({ [by]: s.key, share: s.share, totals: s.totals, points: s.points })),
        };
      },
    ),
    {
      method: 'GET',
      path: '/v1/functions/{name}/logs',
      summary:
        'Invocation logs, newest last (qualifier, version, requestId, since, until, text, limit, after); follow=true streams them (SSE)',
      query: ['qualifier', 'version', 'requestId', 'since', 'until', 'text', 'limit', 'after', 'follow'],
      responses: { 200: new JsonOrEvents(LogList) },
      handler: async (request) => {
        const name = functionParam(request);
        const now = clock().getTime();
        const limitText = optionalQuery(request, 'limit') ?? '100';
        const limit = Number(limitText);
        if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000)
          throw invalid('limit', 'must be an integer from 1 to 1000');
        // A follower that reconnects names the last log it got, as Server-Sent Events do.
        const lastEventId = request.req.headers['last-event-id']?.toString();
        const afterText = optionalQuery(request, 'after') ?? lastEventId;
        if (afterText !== undefined && !/^\d+$/.test(afterText))
          throw invalid(lastEventId === afterText ? 'Last-Event-ID' : 'after', 'must be a log id');
        const follow = optionalQuery(request, 'follow');
        if (follow !== undefined && follow !== 'true' && follow !== 'false')
          throw invalid('follow', 'must be true or false');
        const filter: LogFilter = { limit };
        const set = <K extends keyof LogFilter>(key: K, value: LogFilter[K] | undefined) => {
          if (value !== undefined) filter[key] = value;
        };
        // Logs name the latest code LATEST, as the invocation's context does; either spelling finds them.
        const qualifier = optionalQuery(request, 'qualifier');
        set('qualifier', qualifier === undefined ? undefined : qualifierLabel(parseQualifier(qualifier)));
        const version = optionalQuery(request, 'version');
        set('versionId', version === LATEST ? LATEST_VERSION_ID : version);
        set('requestId', optionalQuery(request, 'requestId'));
        set('text', optionalQuery(request, 'text'));
        set('since', timeParam(request, 'since', now));
        set('until', timeParam(request, 'until', now));
        set('afterId', afterText === undefined ? undefined : Number(afterText));
        await requireFunction(store, name);
        const recent = (
          await store.queryLogs(name, { ...filter, newestFirst: afterText === undefined })
        ).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
        if (follow !== 'true') {
          return {
            status: 200,
            json: { logs: recent.map(logView), lastId: recent.at(-1)?.id ?? filter.afterId ?? null },
          };
        }
        return {
          status: 200,
          stream: (res: ServerResponse) => {
            streamLogs(res, recent, (listener) => logFeed.follow(name, filter, recent, listener), filter);
          },
        };
      },
    },
  ];
}

/**
 * Server-Sent Events: the recent logs, then each new one as it is recorded, until the client goes. Each event's
 * id is its log's, which a follower sends back as `Last-Event-ID` to resume after it.
 */
function streamLogs(
  res: ServerResponse,
  recent: readonly InvocationLog[],
  subscribe: (listener: (log: InvocationLog) => void) => () => void,
  filter: LogFilter,
): void {
  let unsubscribe = (): void => undefined;
  const stream = openEventStream(res, STREAM_OPTIONS, () => {
    unsubscribe();
  });
  const send = (log: InvocationLog) => {
    stream.send('log', JSON.stringify(logView(log)), log.id);
  };
  recent.forEach(send);
  stream.comment('following');
  unsubscribe = subscribe((log) => {
    if (matches(log, filter)) send(log);
  });
}
