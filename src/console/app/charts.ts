import { clear, h, s } from './dom.js';

/** Inline SVG line charts for the monitoring tab: one line per version, a hover read-out, no dependencies. */

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  values: (number | null)[];
}

export interface ChartOptions {
  title: string;
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  testid: string;
  /** Fixed top of the y axis (1 for a rate); otherwise from the data. */
  yMax?: number | undefined;
  /** The highest top the axis may take from the data (1 for a rate, which never passes 100 %). */
  yCap?: number;
  empty?: string;
  /** Twice as wide (a chart across both columns): the same text size. */
  wide?: boolean;
  /** Shown at the end of the legend row, such as a percentile switch. */
  controls?: Node;
  /** Limits drawn as dashed lines (a rollout's guardrails), always inside the y axis. */
  thresholds?: { key: string; label: string; value: number; color: string }[];
}

/** Milliseconds as the charts and tables show them: "0 ms", "2.5 ms", "120 ms", "1.25 s" (no "0.00 ms"). */
export const formatMs = (v: number): string =>
  v >= 1000 ? `${+(v / 1000).toFixed(2)} s` : `${v < 10 ? +v.toFixed(2) : Math.round(v)} ms`;

/** A rate as a percentage: one decimal below 10 %, none above ("0 %", "2.5 %", "40 %"). */
export const formatRate = (v: number): string => `${+(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)} %`;

const H = 220;
const PAD = { left: 52, right: 12, top: 12, bottom: 26 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

/**
 * A time axis's labels, as precise as the distance between two needs (seconds below a minute), and with the
 * day wherever it is not the previous label's: over 24 hours the first and last ticks share a time of day.
 */
function timeLabels(ticks: number[], gap: number): string[] {
  const day = (t: number) => new Date(t).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (gap >= 86_400_000) return ticks.map(day);
  const spansDays = day(ticks[0] ?? 0) !== day(ticks.at(-1) ?? 0);
  return ticks.map((t, i) => {
    const time = new Date(t).toLocaleTimeString(undefined, {
      hour: '2-digit',
      minute: '2-digit',
      ...(gap < 60_000 && { second: '2-digit' }),
    });
    const newDay = i === 0 ? spansDays : day(t) !== day(ticks[i - 1] ?? t);
    return newDay ? `${day(t)}, ${time}` : time;
  });
}

export function lineChart(options: ChartOptions): HTMLElement {
  const { times, series } = options;
  // About the width it is drawn at in a 1280-pixel window, so that its text keeps its size.
  const W = options.wide ? 1080 : 520;
  const hasData = series.some((sr) => sr.values.some((v) => v !== null));
  const tooltip = h('div', { class: 'chart-tip', hidden: true });
  const wrap = h('figure', { class: 'chart', testid: options.testid });
  const legend = h(
    'figcaption',
    { class: 'chart-legend' },
    h('span', { class: 'chart-title' }, options.title),
    series.map((sr) =>
      h(
        'span',
        { class: 'legend-item', testid: `${options.testid}-legend-${sr.key}` },
        h('i', { style: `background:${sr.color}` }),
        sr.label,
      ),
    ),
    (options.thresholds ?? []).map((th) =>
      h(
        'span',
        { class: 'legend-item legend-limit', testid: `${options.testid}-limit-${th.key}` },
        h('i', { style: `border-color:${th.color}` }),
        `${th.label} ${options.format(th.value)}`,
      ),
    ),
    options.controls,
  );
  if (times.length < 2 || !hasData) {
    clear(wrap, legend, h('div', { class: 'chart-empty' }, options.empty ?? 'No data in this range yet.'));
    return wrap;
  }
  const t0 = times[0] as number;
  const t1 = times.at(-1) as number;
  const span = Math.max(1, t1 - t0);
  const dataMax = Math.max(
    0,
    ...series.flatMap((sr) => sr.values.filter((v): v is number => v !== null)),
    ...(options.thresholds ?? []).map((th) => th.value),
  );
  const yMax = options.yMax ?? Math.min(niceMax(dataMax * 1.1), options.yCap ?? Infinity);
  const x = (t: number) => PAD.left + ((t - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - Math.min(v, yMax) / yMax) * (H - PAD.top - PAD.bottom);

  const grid: SVGElement[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    grid.push(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    grid.push(
      s('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, options.format(v)),
    );
  }
  const ticks = options.wide ? 6 : 3;
  const tickTimes = Array.from({ length: ticks + 1 }, (_, i) => t0 + (span * i) / ticks);
  const labels = timeLabels(tickTimes, span / ticks);
  for (const [i, t] of tickTimes.entries()) {
    grid.push(
      s(
        'text',
        {
          x: x(t),
          y: H - 8,
          'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle',
          class: 'axis axis-time',
        },
        labels[i] ?? '',
      ),
    );
  }
  for (const th of options.thresholds ?? []) {
    grid.push(
      s('line', {
        x1: PAD.left,
        x2: W - PAD.right,
        y1: y(th.value),
        y2: y(th.value),
        class: 'limit',
        stroke: th.color,
        'data-limit': th.key,
      }),
    );
  }
  const lines = series.map((sr) => {
    let d = '';
    let pen = false;
    sr.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(times[i] as number).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    // A point with no neighbour makes no line: it gets a dot.
    const dots = sr.values.map((v, i) =>
      v !== null && (sr.values[i - 1] ?? null) === null && (sr.values[i + 1] ?? null) === null
        ? s('circle', { cx: x(times[i] as number).toFixed(1), cy: y(v).toFixed(1), r: 3, fill: sr.color })
        : null,
    );
    return s(
      'g',
      { 'data-series': sr.key },
      s('path', { d, fill: 'none', stroke: sr.color, 'stroke-width': 2, 'stroke-linejoin': 'round' }),
      dots,
    );
  });
  const cursor = s('line', { y1: PAD.top, y2: H - PAD.bottom, class: 'cursor', visibility: 'hidden' });
  const overlayRect = s('rect', {
    x: PAD.left,
    y: PAD.top,
    width: W - PAD.left - PAD.right,
    height: H - PAD.top - PAD.bottom,
    fill: 'transparent',
  });
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': options.title },
    grid,
    lines,
    cursor,
    overlayRect,
  );
  overlayRect.addEventListener('mousemove', (e) => {
    const box = svg.getBoundingClientRect();
    const px = ((e.clientX - box.left) / box.width) * W;
    const t = t0 + ((px - PAD.left) / (W - PAD.left - PAD.right)) * span;
    let index = 0;
    for (let i = 1; i < times.length; i++)
      if (Math.abs((times[i] as number) - t) < Math.abs((times[index] as number) - t)) index = i;
    const at = times[index] as number;
    cursor.setAttribute('x1', String(x(at)));
    cursor.setAttribute('x2', String(x(at)));
    cursor.setAttribute('visibility', 'visible');
    clear(
      tooltip,
      h('div', { class: 'tip-time' }, new Date(at).toLocaleTimeString()),
      series.map((sr) => {
        const v = sr.values[index];
        return h(
          'div',
          null,
          h('i', { style: `background:${sr.color}` }),
          `${sr.label}: `,
          h('strong', null, v === null || v === undefined ? '—' : options.format(v)),
        );
      }),
    );
    tooltip.hidden = false;
    const left = (x(at) / W) * box.width;
    tooltip.style.left = `${Math.min(left + 12, box.width - 160)}px`;
  });
  overlayRect.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    cursor.setAttribute('visibility', 'hidden');
  });
  clear(wrap, legend, h('div', { class: 'chart-body' }, svg, tooltip));
  return wrap;
}

/** A horizontal bar of shares (traffic per version). */
export function shareBar(
  parts: { key: string; label: string; share: number; color: string }[],
  testid: string,
): HTMLElement {
  return h(
    'div',
    { class: 'share', testid },
    h(
      'div',
      { class: 'split-bar big' },
      parts.map((p) =>
        h('span', {
          style: `width:${p.share * 100}%;background:${p.color}`,
          title: `${p.label}: ${(p.share * 100).toFixed(1)} %`,
        }),
      ),
    ),
    h(
      'div',
      { class: 'share-legend' },
      parts.map((p) =>
        h(
          'span',
          { class: 'legend-item', testid: `share-${p.key}` },
          h('i', { style: `background:${p.color}` }),
          `${p.label} `,
          h('strong', null, `${(p.share * 100).toFixed(1)} %`),
        ),
      ),
    ),
  );
}
