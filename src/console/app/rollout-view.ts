import { enc, fnPath, getJson, sendJson, type MetricsView, type RolloutView } from './api.js';
import { formatMs, formatRate, lineChart } from './charts.js';
import {
  badge,
  cardHead,
  clear,
  colorFor,
  confirmDialog,
  dataTable,
  errorBox,
  formatTime,
  h,
  spinner,
  toast,
} from './dom.js';
import { describePlan, formatHold } from './rollout-form.js';

const POLL_MS = 2000;

export const STATUS_BADGES: Record<RolloutView['status'], string> = {
  running: 'badge-accent',
  paused: 'badge-warn',
  succeeded: 'badge-ok',
  'rolled-back': 'badge-bad',
  aborted: 'badge-warn',
  failed: 'badge-bad',
};

const active = (r: RolloutView) => r.status === 'running' || r.status === 'paused';
const pct = (w: number) => `${+(w * 100).toFixed(2)} %`;
const versionLabel = (v: string) => (v === '$LATEST' || v === 'LATEST' ? '$LATEST' : `version ${v}`);

/** The target's and the primary's figures through the alias, per 10 s (or coarser) point. */
interface Figures {
  times: number[];
  target: MetricsView['series'][number] | undefined;
  primary: MetricsView['series'][number] | undefined;
}

/** Reads the alias's traffic by version from the rollout's start to now (or its end), in at most ~360 points. */
async function loadFigures(r: RolloutView, signal: AbortSignal): Promise<Figures> {
  const since = Date.parse(r.createdAt) - 10_000;
  const until = active(r) ? Date.now() : Math.max(Date.parse(r.updatedAt) + 10_000, since + 60_000);
  const span = until - since;
  const step = span <= 3_600_000 ? '10s' : span <= 6 * 3_600_000 ? '1m' : '10m';
  const m = await getJson<MetricsView>(
    `${fnPath(r.functionName)}/metrics?qualifier=${enc(r.alias)}&by=version&step=${step}` +
      `&since=${enc(new Date(since).toISOString())}&until=${enc(new Date(until).toISOString())}`,
    signal,
  );
  const primaryId = r.from === '$LATEST' ? 'LATEST' : r.from;
  const times: number[] = [];
  for (let t = Date.parse(m.from); t <= Date.parse(m.until); t += m.step * 1000)
    times.push(t - (t % (m.step * 1000)));
  return {
    times,
    target: m.series.find((s) => s.version === r.to),
    primary: m.series.find((s) => s.version === primaryId),
  };
}

/** The guardrail chart: error rate and p99 of target and primary over the rollout, each against its limit. */
function guardrailChart(r: RolloutView, f: Figures): HTMLElement {
  const values = (
    s: Figures['target'],
    pick: (p: NonNullable<Figures['target']>['points'][number]) => number | null,
  ) => {
    const byTime = new Map((s?.points ?? []).map((p) => [Date.parse(p.t), p]));
    return f.times.map((t) => {
      const p = byTime.get(t);
      return p && p.invocations > 0 ? pick(p) : null;
    });
  };
  const series = (pick: Parameters<typeof values>[1]) => [
    {
      key: r.to,
      label: `Target ${versionLabel(r.to)}`,
      color: colorFor(r.to),
      values: values(f.target, pick),
    },
    {
      key: r.from,
      label: `Primary ${versionLabel(r.from)}`,
      color: colorFor(r.from === '$LATEST' ? 'LATEST' : r.from),
      values: values(f.primary, pick),
    },
  ];
  const g = r.guardrails;
  return h(
    'div',
    { class: 'guardrail-chart', testid: 'rollout-chart' },
    lineChart({
      title: 'Error rate',
      times: f.times,
      series: series((p) => p.errorRate),
      format: formatRate,
      testid: 'rollout-chart-errors',
      yCap: 1,
      empty: 'No invocations through the alias yet.',
      ...(g.maxErrorRate !== undefined && {
        thresholds: [{ key: 'maxErrorRate', label: 'limit', value: g.maxErrorRate, color: '#dc2626' }],
      }),
    }),
    lineChart({
      title: 'p99 duration',
      times: f.times,
      series: series((p) => p.p99Ms),
      format: formatMs,
      testid: 'rollout-chart-p99',
      empty: 'No invocations through the alias yet.',
      ...(g.maxP99Ms !== undefined && {
        thresholds: [{ key: 'maxP99Ms', label: 'limit', value: g.maxP99Ms, color: '#dc2626' }],
      }),
    }),
  );
}

/** Each guardrail, its limit and where the target stands in the current step. */
function guardrailTable(r: RolloutView, f: Figures): HTMLElement {
  const stepStart = r.stepStartedAt ? Date.parse(r.stepStartedAt) : Date.parse(r.createdAt);
  const inStep = (s: Figures['target']) =>
    (s?.points ?? []).filter((p) => Date.parse(p.t) + 10_000 > stepStart);
  const sum = (s: Figures['target'], key: 'invocations' | 'functionErrors' | 'platformErrors') =>
    inStep(s).reduce((a, p) => a + p[key], 0);
  const n = sum(f.target, 'invocations');
  const errors = sum(f.target, 'functionErrors') + sum(f.target, 'platformErrors');
  const rate = n ? errors / n : 0;
  const pn = sum(f.primary, 'invocations');
  const primaryRate = pn ? (sum(f.primary, 'functionErrors') + sum(f.primary, 'platformErrors')) / pn : 0;
  const p99s = inStep(f.target)
    .map((p) => p.p99Ms)
    .filter((v): v is number => v !== null);
  const p99 = p99s.length ? Math.max(...p99s) : null;
  const g = r.guardrails;
  const judged = n >= g.minInvocations;
  const row = (name: string, limit: string, now: string, ok: boolean | undefined, key: string) =>
    h(
      'tr',
      { testid: `guardrail-${key}` },
      h('td', null, name),
      h('td', null, limit),
      h('td', null, now),
      h(
        'td',
        null,
        ok === undefined
          ? badge('waiting for data', 'badge-muted')
          : ok
            ? badge('within', 'badge-ok')
            : badge('breached', 'badge-bad'),
      ),
    );
  const verdict = (ok: boolean) => (active(r) && !judged ? undefined : ok);
  return dataTable(
    ['Guardrail', 'Limit', 'Target in this step', ''],
    [
      row(
        'Invocations before judging',
        String(g.minInvocations),
        String(n),
        active(r) ? (judged ? true : undefined) : true,
        'minInvocations',
      ),
      g.maxErrorRate !== undefined &&
        row(
          'Error rate',
          formatRate(g.maxErrorRate),
          formatRate(rate),
          verdict(rate <= g.maxErrorRate),
          'maxErrorRate',
        ),
      g.maxErrorRateRatio !== undefined &&
        row(
          'Ratio to the primary’s error rate',
          `${g.maxErrorRateRatio}×`,
          `${formatRate(rate)} vs ${formatRate(primaryRate)}`,
          verdict(rate === 0 || rate <= primaryRate * g.maxErrorRateRatio),
          'maxErrorRateRatio',
        ),
      g.maxP99Ms !== undefined &&
        row(
          'p99 (highest 10 s)',
          formatMs(g.maxP99Ms),
          p99 === null ? '—' : formatMs(p99),
          verdict(p99 === null || p99 <= g.maxP99Ms),
          'maxP99Ms',
        ),
      g.maxPlatformErrors !== undefined &&
        row(
          'Platform errors',
          String(g.maxPlatformErrors),
          String(sum(f.target, 'platformErrors')),
          sum(f.target, 'platformErrors') <= g.maxPlatformErrors,
          'maxPlatformErrors',
        ),
    ],
    { testid: 'rollout-guardrails' },
  );
}

/** The steps as a ladder: passed, current (with how long it has held) and to come. */
function stepLadder(r: RolloutView): HTMLElement {
  const held =
    r.stepStartedAt && r.status === 'running' ? Date.now() - Date.parse(r.stepStartedAt) : undefined;
  return h(
    'ol',
    { class: 'steps', testid: 'rollout-steps' },
    r.steps.map((s, i) => {
      const n = i + 1;
      const state =
        r.status === 'succeeded' || n < r.step
          ? 'done'
          : n === r.step
            ? active(r)
              ? 'current'
              : 'stopped'
            : 'todo';
      return h(
        'li',
        {
          class: `step step-${state}`,
          testid: `rollout-step-${n}`,
          'aria-current': state === 'current' ? 'step' : undefined,
        },
        h('strong', null, pct(s.weight)),
        h(
          'span',
          { class: 'muted small' },
          s.holdMs > 0
            ? state === 'current' && held !== undefined
              ? `${formatHold(Math.min(held, s.holdMs) - (Math.min(held, s.holdMs) % 1000))} of ${formatHold(s.holdMs)}`
              : formatHold(s.holdMs)
            : 'promote',
        ),
      );
    }),
  );
}

function summary(r: RolloutView): string {
  const steps = `step ${Math.max(r.step, 1)} of ${r.steps.length}`;
  if (r.status === 'succeeded') return `Promoted: ${versionLabel(r.to)} takes all of ${r.alias}’s traffic.`;
  if (!active(r)) return `Ended at ${steps}: all of ${r.alias}’s traffic is back on ${versionLabel(r.from)}.`;
  if (r.step === 0)
    return r.preTraffic
      ? 'Checking the target with the pre-traffic payload; no traffic has moved.'
      : 'Starting; no traffic has moved yet.';
  return `Step ${r.step} of ${r.steps.length}: ${pct(r.currentWeight)} of ${r.alias}’s traffic on ${versionLabel(r.to)}${r.status === 'paused' ? ' (paused: the step holds until resumed)' : ''}.`;
}

function outcome(r: RolloutView): HTMLElement | false {
  if (active(r) || !r.reason) return false;
  const tone = r.status === 'succeeded' ? 'alert-ok' : r.status === 'aborted' ? 'alert-warn' : 'alert-error';
  const last = r.events.at(-1);
  return h(
    'div',
    { class: `alert ${tone}`, role: 'status', testid: 'rollout-outcome' },
    h(
      'div',
      { class: 'alert-title' },
      r.status === 'succeeded'
        ? 'Promoted'
        : r.status === 'rolled-back'
          ? 'Rolled back'
          : r.status === 'aborted'
            ? 'Aborted'
            : 'Failed',
    ),
    h('div', { class: 'alert-body' }, r.reason),
    last?.figures &&
      h(
        'div',
        { class: 'alert-hint mono small' },
        Object.entries(last.figures)
          .map(([k, v]) => `${k} ${v === null ? '—' : Number.isInteger(v) ? v : +v.toFixed(4)}`)
          .join(' · '),
      ),
  );
}

function eventLog(r: RolloutView): HTMLElement {
  return h(
    'ol',
    { class: 'timeline', testid: 'rollout-events' },
    [...r.events]
      .reverse()
      .map((e) =>
        h(
          'li',
          { class: 'timeline-item', testid: `rollout-event-${e.kind}` },
          h(
            'div',
            { class: 'timeline-head' },
            badge(e.kind, e.kind === 'rolled-back' || e.kind === 'failed' ? 'badge-bad' : 'badge-muted'),
            h('span', { class: 'muted small' }, formatTime(e.at)),
          ),
          h('div', { class: 'small' }, e.message),
        ),
      ),
  );
}

/**
 * One rollout, live: its status and steps, the guardrails against the target's figures, the chart, the event
 * log, and the commands that steer it (pause, resume, promote, abort). It reads the rollout every 2 s while
 * it is active, and once more when it ends.
 */
export function renderRolloutView(
  host: HTMLElement,
  options: { id: string; signal: AbortSignal; changed: () => void },
): void {
  const { id, signal } = options;
  const errorArea = h('div', { testid: 'rollout-error-area' });
  const body = h('div', { testid: 'rollout-body' }, spinner('Loading the rollout…'));
  clear(host, errorArea, body);
  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
  });
  let wasActive = true;
  /** Whether the error shown is a failed read, which the next good one clears. */
  let readFailed = false;

  const command = async (r: RolloutView, name: 'pause' | 'resume' | 'promote' | 'abort') => {
    // A new action: the last one's error goes.
    clear(errorArea);
    if (name === 'promote' || name === 'abort') {
      const ok = await confirmDialog({
        title: name === 'promote' ? `Promote version ${r.to} now?` : `Abort the rollout of ${r.alias}?`,
        message: h(
          'p',
          null,
          name === 'promote'
            ? `All of ${r.alias}’s traffic goes to version ${r.to} at once, without the remaining steps.`
            : `All of ${r.alias}’s traffic goes back to ${versionLabel(r.from)} at once.`,
        ),
        confirm: name === 'promote' ? 'Promote' : 'Abort rollout',
        danger: name === 'abort',
        testid: `rollout-${name}-dialog`,
      });
      if (!ok) return;
    }
    try {
      const { body: next } = await sendJson<RolloutView>(
        'POST',
        `/v1/rollouts/${enc(r.id)}/${name}`,
        undefined,
      );
      toast(`Rollout ${next.status}`);
      await load();
    } catch (error) {
      clear(errorArea, errorBox(error, undefined, 'rollout-error'));
      await load();
    }
  };

  const draw = (r: RolloutView, f: Figures) => {
    const button = (name: 'pause' | 'resume' | 'promote' | 'abort', label: string, kind = '') =>
      h(
        'button',
        {
          class: `btn ${kind}`,
          type: 'button',
          testid: `rollout-${name}`,
          onClick: () => void command(r, name),
        },
        label,
      );
    clear(
      body,
      h(
        'section',
        { class: 'card' },
        cardHead(
          `${r.alias}: ${versionLabel(r.from)} → ${versionLabel(r.to)}`,
          `Started ${formatTime(r.createdAt)} · ${describePlan(r.steps)}`,
          h(
            'div',
            { class: 'row wrap' },
            badge(r.status, STATUS_BADGES[r.status]),
            r.status === 'running' && button('pause', 'Pause'),
            r.status === 'paused' && button('resume', 'Resume'),
            active(r) && button('promote', 'Promote now'),
            active(r) && button('abort', 'Abort', 'btn-danger'),
          ),
        ),
        h(
          'div',
          { class: 'card-pad' },
          h('p', { testid: 'rollout-summary' }, summary(r)),
          stepLadder(r),
          outcome(r),
        ),
      ),
      h(
        'section',
        { class: 'card card-pad' },
        h('h3', null, 'Guardrails'),
        guardrailTable(r, f),
        guardrailChart(r, f),
      ),
      h('section', { class: 'card card-pad' }, h('h3', null, 'Events'), eventLog(r)),
    );
  };

  const load = async (): Promise<void> => {
    clearTimeout(timer);
    try {
      const r = await getJson<RolloutView>(`/v1/rollouts/${enc(id)}`, signal);
      const f = await loadFigures(r, signal);
      if (signal.aborted) return;
      if (readFailed) clear(errorArea);
      readFailed = false;
      draw(r, f);
      if (wasActive && !active(r)) options.changed();
      wasActive = active(r);
      if (active(r)) timer = setTimeout(() => void load(), POLL_MS);
    } catch (error) {
      if (signal.aborted) return;
      readFailed = true;
      clear(
        errorArea,
        errorBox(error, () => void load(), 'rollout-error'),
      );
      timer = setTimeout(() => void load(), POLL_MS * 2);
    }
  };
  void load();
}
