import {
  enc,
  fnPath,
  getJson,
  request,
  type LogView,
  type MetricsSeries,
  type MetricsView,
  type Summary,
} from '../api.js';
import { formatMs, formatRate, lineChart, shareBar, type ChartSeries } from '../charts.js';
import { clear, colorFor, errorBox, formatTime, h, spinner } from '../dom.js';
import { onLeave } from '../router.js';
import { followEvents } from '../../../contract/sse.js';
import { qualifierKind, type FunctionContext } from './function-context.js';

const RANGES: { id: string; label: string; step: string }[] = [
  { id: '5m', label: 'Last 5 minutes', step: '10s' },
  { id: '15m', label: 'Last 15 minutes', step: '10s' },
  { id: '1h', label: 'Last hour', step: '30s' },
  { id: '6h', label: 'Last 6 hours', step: '5m' },
  { id: '24h', label: 'Last 24 hours', step: '15m' },
];
const REFRESH_MS = 5000;

/** Remembered across visits to the tab. */
const prefs = {
  range: '15m',
  by: 'version' as 'version' | 'qualifier',
  live: true,
  percentile: 'p99Ms' as 'p50Ms' | 'p90Ms' | 'p99Ms',
};

const ms = formatMs;
const pct = formatRate;
const seriesKey = (s: MetricsSeries) => s.version ?? s.qualifier ?? '?';
const seriesLabel = (by: string, key: string) =>
  by === 'version' ? (key === 'LATEST' ? '$LATEST' : `Version ${key}`) : key;

/**
 * What the *Version or alias* selector limits the figures to: an alias's traffic (its primary and canary), one
 * version's (through any qualifier), or, on $LATEST, the whole function's.
 */
function scopeOf(ctx: FunctionContext): { query: string; text: string; version: string; qualifier: string } {
  const kind = qualifierKind(ctx.qualifier);
  if (kind === 'alias')
    return {
      query: `&qualifier=${enc(ctx.qualifier)}`,
      text: `Traffic through alias ${ctx.qualifier}, by version.`,
      version: '',
      qualifier: ctx.qualifier,
    };
  if (kind === 'version')
    return {
      query: `&version=${enc(ctx.qualifier)}`,
      text: `Invocations of version ${ctx.qualifier}, through any qualifier.`,
      version: ctx.qualifier,
      qualifier: '',
    };
  return {
    query: '',
    text: 'Every version and qualifier of the function: choose a version or an alias above to see only its traffic.',
    version: '',
    qualifier: '',
  };
}

/** Monitoring: per-version traffic share, invocations, error rate and latency, refreshing; then the logs. */
export function renderMonitoringTab(ctx: FunctionContext, panel: HTMLElement): void {
  const scope = scopeOf(ctx);
  const range = h(
    'select',
    { id: 'metrics-range', class: 'input', testid: 'metrics-range', 'aria-label': 'Time range' },
    RANGES.map((r) => h('option', { value: r.id, selected: r.id === prefs.range }, r.label)),
  );
  const by = h(
    'select',
    { id: 'metrics-by', class: 'input', testid: 'metrics-by', 'aria-label': 'Group by' },
    h('option', { value: 'version', selected: prefs.by === 'version' }, 'By version'),
    h('option', { value: 'qualifier', selected: prefs.by === 'qualifier' }, 'By qualifier'),
  );
  const live = h('input', {
    id: 'metrics-live',
    type: 'checkbox',
    testid: 'metrics-live',
    checked: prefs.live,
  });
  const updated = h('span', { class: 'muted small', testid: 'metrics-updated', 'aria-live': 'polite' });
  const refreshButton = h(
    'button',
    { class: 'btn btn-small', type: 'button', testid: 'metrics-refresh' },
    'Refresh',
  );
  const body = h('div', { testid: 'metrics-body' }, spinner('Loading metrics…'));

  // A function, not the property: TypeScript would take the check at the top as true after every await.
  const aborted = () => ctx.signal.aborted;
  let inFlight = false;
  let again = false;
  let lastGood: MetricsView | undefined;
  const load = async (): Promise<void> => {
    if (ctx.signal.aborted) return;
    if (inFlight) {
      // A change of range or grouping while a refresh runs: load once more when it is done.
      again = true;
      return;
    }
    inFlight = true;
    const r = RANGES.find((x) => x.id === prefs.range) ?? RANGES[1];
    try {
      const m = await getJson<MetricsView>(
        `${fnPath(ctx.name)}/metrics?since=${r?.id ?? '15m'}&step=${r?.step ?? '10s'}&by=${prefs.by}${scope.query}`,
        ctx.signal,
      );
      if (aborted()) return;
      lastGood = m;
      drawMetrics(body, m);
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}${prefs.live ? ' · live' : ''}`;
    } catch (error) {
      if (aborted()) return;
      if (lastGood)
        updated.textContent = `Refresh failed at ${new Date().toLocaleTimeString()}: ${error instanceof Error ? error.message : String(error)}`;
      else
        clear(
          body,
          errorBox(error, () => void load()),
        );
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      await load();
    }
  };
  const timer = setInterval(() => {
    if (prefs.live && document.visibilityState === 'visible') void load();
  }, REFRESH_MS);
  onLeave(() => {
    clearInterval(timer);
  });
  range.addEventListener('change', () => {
    prefs.range = range.value;
    void load();
  });
  by.addEventListener('change', () => {
    prefs.by = by.value as 'version' | 'qualifier';
    void load();
  });
  live.addEventListener('change', () => {
    prefs.live = live.checked;
    if (prefs.live) void load();
    else updated.textContent = 'Paused';
  });
  refreshButton.addEventListener('click', () => void load());

  clear(
    panel,
    h(
      'div',
      { class: 'toolbar' },
      range,
      by,
      h('label', { class: 'toggle' }, live, ' Live (every 5 s)'),
      refreshButton,
      h('span', { class: 'spacer' }),
      updated,
    ),
    h('p', { class: 'muted small', testid: 'metrics-scope' }, scope.text),
    body,
    logsCard(ctx, scope),
  );
  void load();
}

function drawMetrics(body: HTMLElement, m: MetricsView): void {
  const times = [...new Set(m.series.flatMap((s) => s.points.map((p) => Date.parse(p.t))))].sort(
    (a, b) => a - b,
  );
  if (times.length === 0) {
    const from = Date.parse(m.from);
    const until = Date.parse(m.until);
    for (let t = from; t <= until; t += m.step * 1000) times.push(t);
  }
  const series = [...m.series].sort((a, b) =>
    seriesKey(a).localeCompare(seriesKey(b), undefined, { numeric: true }),
  );
  const valuesOf = (s: MetricsSeries, pick: (p: Summary) => number | null) => {
    const byTime = new Map(s.points.map((p) => [Date.parse(p.t), p]));
    return times.map((t) => {
      const p = byTime.get(t);
      return p ? pick(p) : null;
    });
  };
  const chartSeries = (pick: (p: Summary) => number | null): ChartSeries[] =>
    series.map((s) => {
      const key = seriesKey(s);
      return { key, label: seriesLabel(m.by, key), color: colorFor(key), values: valuesOf(s, pick) };
    });
  const t = m.totals;
  const card = (label: string, value: string, testid: string, tone = '') =>
    h(
      'div',
      { class: `stat ${tone}`, testid },
      h('div', { class: 'stat-label' }, label),
      h('div', { class: 'stat-value' }, value),
    );

  const latencyHost = h('div');
  const drawLatency = (): void => {
    clear(
      latencyHost,
      lineChart({
        title: `Duration ${prefs.percentile.slice(0, 3)}`,
        times,
        series: chartSeries((p) => (p.invocations > 0 ? p[prefs.percentile] : null)),
        format: ms,
        testid: 'chart-latency',
        wide: true,
        controls: percentiles,
      }),
    );
  };
  const percentiles = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': 'Percentile' },
    (['p50Ms', 'p90Ms', 'p99Ms'] as const).map((p) => {
      const b = h(
        'button',
        {
          type: 'button',
          class: `seg${prefs.percentile === p ? ' active' : ''}`,
          testid: `latency-${p.slice(0, 3)}`,
          'aria-pressed': prefs.percentile === p ? 'true' : 'false',
        },
        p.slice(0, 3),
      );
      b.addEventListener('click', () => {
        prefs.percentile = p;
        for (const other of percentiles.querySelectorAll('.seg')) {
          other.classList.toggle('active', other === b);
          other.setAttribute('aria-pressed', other === b ? 'true' : 'false');
        }
        drawLatency();
      });
      return b;
    }),
  );
  drawLatency();

  clear(
    body,
    h(
      'div',
      { class: 'stats' },
      card('Invocations', String(t.invocations), 'stat-invocations'),
      card(
        'Errors',
        String(t.functionErrors + t.platformErrors),
        'stat-errors',
        t.functionErrors + t.platformErrors > 0 ? 'bad' : '',
      ),
      card('Error rate', pct(t.errorRate), 'stat-error-rate', t.errorRate > 0 ? 'bad' : ''),
      card('p50', t.p50Ms === null ? '—' : ms(t.p50Ms), 'stat-p50'),
      card('p90', t.p90Ms === null ? '—' : ms(t.p90Ms), 'stat-p90'),
      card('p99', t.p99Ms === null ? '—' : ms(t.p99Ms), 'stat-p99'),
      card('Cold starts', String(t.coldStarts), 'stat-cold'),
      card('Throttles', String(t.throttles), 'stat-throttles', t.throttles > 0 ? 'bad' : ''),
    ),
    h(
      'section',
      { class: 'card card-pad' },
      h('h3', null, `Traffic share ${m.by === 'version' ? 'per version' : 'per qualifier'}`),
      series.length
        ? shareBar(
            series.map((s) => ({
              key: seriesKey(s),
              label: seriesLabel(m.by, seriesKey(s)),
              share: s.share,
              color: colorFor(seriesKey(s)),
            })),
            'traffic-share',
          )
        : h(
            'p',
            { class: 'muted', testid: 'traffic-share' },
            'No invocations in this range. Invoke the function (Code tab → Test Function) and watch them arrive here.',
          ),
    ),
    h(
      'div',
      { class: 'charts' },
      h(
        'section',
        { class: 'card card-pad' },
        lineChart({
          title: 'Invocations per interval',
          times,
          series: chartSeries((p) => p.invocations),
          format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
          testid: 'chart-invocations',
        }),
      ),
      h(
        'section',
        { class: 'card card-pad' },
        lineChart({
          title: 'Error rate',
          times,
          series: chartSeries((p) => (p.invocations > 0 ? p.errorRate : null)),
          format: pct,
          testid: 'chart-errors',
          yCap: 1,
        }),
      ),
      h('section', { class: 'card card-pad chart-wide' }, latencyHost),
    ),
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('h3', null, m.by === 'version' ? 'Per version' : 'Per qualifier')),
      h(
        'table',
        { class: 'table', testid: 'metrics-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ...[
              m.by === 'version' ? 'Version' : 'Qualifier',
              'Invocations',
              'Share',
              'Errors',
              'Error rate',
              'Cold starts',
              'Throttles',
              'Avg',
              'p50',
              'p90',
              'p99',
            ].map((x) => h('th', { scope: 'col' }, x)),
          ),
        ),
        h(
          'tbody',
          null,
          series.length === 0
            ? h('tr', null, h('td', { colspan: 11, class: 'muted' }, 'No invocations in this range.'))
            : series.map((s) => {
                const key = seriesKey(s);
                const st = s.totals;
                return h(
                  'tr',
                  { testid: `metrics-row-${key}` },
                  h(
                    'td',
                    null,
                    h('i', { class: 'swatch', style: `background:${colorFor(key)}` }),
                    seriesLabel(m.by, key),
                  ),
                  h('td', null, String(st.invocations)),
                  h('td', null, pct(s.share)),
                  h('td', null, String(st.functionErrors + st.platformErrors)),
                  h('td', { class: st.errorRate > 0 ? 'bad-text' : '' }, pct(st.errorRate)),
                  h('td', null, String(st.coldStarts)),
                  h('td', null, String(st.throttles)),
                  h('td', null, st.averageMs === null ? '—' : ms(st.averageMs)),
                  h('td', null, st.p50Ms === null ? '—' : ms(st.p50Ms)),
                  h('td', null, st.p90Ms === null ? '—' : ms(st.p90Ms)),
                  h('td', null, st.p99Ms === null ? '—' : ms(st.p99Ms)),
                );
              }),
        ),
      ),
    ),
  );
}

/**
 * Follows the log stream of a fetch (EventSource cannot send the Authorization header), resuming after the last
 * log received when it breaks.
 */
function followStream(
  url: string,
  signal: AbortSignal,
  onLog: (log: LogView) => void,
  onOpen: () => void,
): Promise<void> {
  return followEvents({
    signal,
    async open(lastEventId) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      const res = await request('GET', url, { signal, headers });
      if (!res.body) throw new Error('the log stream has no body');
      return textOf(res.body);
    },
    onOpen,
    onEvent(event) {
      if (event.event === 'log') onLog(JSON.parse(event.data) as LogView);
    },
  });
}

async function* textOf(body: NonNullable<Response['body']>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

const MAX_LOG_ROWS = 500;

function logsCard(ctx: FunctionContext, scope: { version: string; qualifier: string }): HTMLElement {
  const version = h(
    'select',
    { id: 'logs-version', class: 'input', testid: 'logs-version', 'aria-label': 'Version' },
    h('option', { value: '' }, 'All versions'),
    h('option', { value: 'LATEST' }, '$LATEST'),
    [...ctx.versions]
      .reverse()
      .map((v) =>
        h(
          'option',
          { value: v.versionId, selected: v.versionId === scope.version },
          `Version ${v.versionId}`,
        ),
      ),
  );
  const qualifier = h(
    'select',
    { id: 'logs-qualifier', class: 'input', testid: 'logs-qualifier', 'aria-label': 'Qualifier' },
    h('option', { value: '' }, 'Any qualifier'),
    h('option', { value: 'LATEST' }, 'LATEST'),
    ctx.aliases.map((a) => h('option', { value: a.name, selected: a.name === scope.qualifier }, a.name)),
    [...ctx.versions].reverse().map((v) => h('option', { value: v.versionId }, `${v.versionId} (version)`)),
  );
  const requestId = h('input', {
    id: 'logs-request-id',
    class: 'input mono',
    placeholder: 'Request id',
    testid: 'logs-request-id',
    'aria-label': 'Request id',
    spellcheck: 'false',
  });
  const text = h('input', {
    id: 'logs-text',
    class: 'input',
    placeholder: 'Text contains…',
    testid: 'logs-text',
    'aria-label': 'Text contains',
    type: 'search',
  });
  const follow = h('input', { id: 'logs-follow', type: 'checkbox', testid: 'logs-follow' });
  const status = h('span', { class: 'muted small', testid: 'logs-status', 'aria-live': 'polite' });
  const list = h('div', { class: 'logs', testid: 'logs-list', role: 'log', 'aria-label': 'Invocation logs' });
  let controller: AbortController | undefined;
  let rows = 0;
  onLeave(() => controller?.abort());

  const query = (extra: string) => {
    const params = new URLSearchParams();
    if (version.value) params.set('version', version.value);
    if (qualifier.value) params.set('qualifier', qualifier.value);
    if (requestId.value.trim()) params.set('requestId', requestId.value.trim());
    if (text.value.trim()) params.set('text', text.value.trim());
    params.set('limit', '100');
    return `${fnPath(ctx.name)}/logs?${params.toString()}${extra}`;
  };

  const row = (log: LogView) =>
    h(
      'div',
      {
        class: `log-row ${log.outcome === 'success' ? '' : 'log-bad'}`,
        testid: 'log-row',
        'data-version': log.versionId,
      },
      h(
        'div',
        { class: 'log-meta' },
        h('span', { class: 'mono small' }, formatTime(log.at)),
        h(
          'span',
          {
            class: 'badge',
            style: `border-color:${colorFor(log.versionId)};color:${colorFor(log.versionId)}`,
          },
          log.versionId === 'LATEST' ? '$LATEST' : `v${log.versionId}`,
        ),
        log.qualifier && h('span', { class: 'badge badge-muted' }, log.qualifier),
        log.requestId &&
          h(
            'button',
            {
              class: 'link mono small',
              type: 'button',
              title: 'Show only this request',
              onClick: () => {
                requestId.value = log.requestId ?? '';
                start();
              },
            },
            log.requestId,
          ),
        log.durationMs !== null && h('span', { class: 'muted small' }, `${log.durationMs.toFixed(1)} ms`),
        log.outcome !== 'success' && h('span', { class: 'badge badge-bad' }, log.errorCode ?? log.outcome),
      ),
      h('pre', { class: 'log-text' }, log.text.trimEnd()),
    );

  const append = (log: LogView) => {
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
    list.querySelector('.logs-empty')?.remove();
    list.append(row(log));
    rows++;
    while (rows > MAX_LOG_ROWS && list.firstElementChild) {
      list.firstElementChild.remove();
      rows--;
    }
    if (atBottom) list.scrollTop = list.scrollHeight;
  };

  const start = () => {
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    rows = 0;
    clear(list, spinner('Loading logs…'));
    if (follow.checked) {
      status.textContent = 'Connecting…';
      let opened = false;
      followStream(
        query('&follow=true'),
        signal,
        (log) => {
          append(log);
        },
        () => {
          // A reconnection keeps the rows: the stream resumes after the last of them.
          if (!opened) clear(list, h('div', { class: 'muted logs-empty' }, 'Waiting for invocations…'));
          opened = true;
          status.textContent = 'Following live';
        },
      ).catch((error: unknown) => {
        if (signal.aborted) return;
        if (!opened) clear(list, errorBox(error, start));
        status.textContent = 'Disconnected';
      });
      return;
    }
    status.textContent = '';
    getJson<{ logs: LogView[] }>(query(''), signal)
      .then(({ logs }) => {
        clear(list);
        if (logs.length === 0) list.append(h('div', { class: 'muted logs-empty' }, 'No logs match.'));
        for (const log of logs) append(log);
        list.scrollTop = list.scrollHeight;
        status.textContent = `${logs.length} log${logs.length === 1 ? '' : 's'}`;
      })
      .catch((error: unknown) => {
        if (!signal.aborted) clear(list, errorBox(error, start));
      });
  };
  let debounce: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    clearTimeout(debounce);
    debounce = setTimeout(start, 300);
  };
  onLeave(() => {
    clearTimeout(debounce);
  });
  for (const el of [version, qualifier, follow]) el.addEventListener('change', start);
  for (const el of [requestId, text]) el.addEventListener('input', later);
  queueMicrotask(start);

  return h(
    'section',
    { class: 'card card-pad', testid: 'logs-card' },
    h('div', { class: 'card-head flush' }, h('h3', null, 'Logs'), h('span', { class: 'spacer' }), status),
    h(
      'div',
      { class: 'toolbar' },
      version,
      qualifier,
      requestId,
      text,
      h('label', { class: 'toggle' }, follow, ' Follow live'),
      h(
        'button',
        { class: 'btn btn-small', type: 'button', testid: 'logs-refresh', onClick: start },
        'Refresh',
      ),
    ),
    list,
  );
}
