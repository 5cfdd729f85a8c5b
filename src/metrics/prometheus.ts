import { BOUNDS_MS } from '../core/histogram.js';
import type { Counters } from '../core/telemetry.js';

export interface SeriesTotals {
  functionName: string;
  versionId: string;
  qualifier: string;
  /** `sync`, `async`, `timer` or `queue`: what started the invocations. */
  source: string;
  counters: Counters;
  /** Of the invocations and cold starts, those of provisioned instances. */
  provisioned: { invocations: number; coldStarts: number };
}

export interface InstanceCounts {
  functionName: string;
  versionId: string;
  instances: number;
  busy: number;
  /** Of `instances`, those provisioned. */
  provisioned: number;
  /** Invocations waiting for an instance of the version. */
  waiting: number;
}

/** A profile's standbys (runtime processes started ahead of any function) on this node. */
export interface StandbyCounts {
  runtime: string;
  network: string;
  ready: number;
  starting: number;
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A metric family's header: what it counts, and its type. */
const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => [
  `# HELP ${name} ${help}`,
  `# TYPE ${name} ${type}`,
];

const instanceLabels = (i: InstanceCounts) =>
  `function="${escape(i.functionName)}",version="${escape(i.versionId)}"`;

const COUNTERS: [name: string, help: string, read: (c: Counters) => number][] = [
  ['sluice_invocations_total', 'Invocations answered, whatever their outcome.', (c) => c.invocations],
  ['sluice_function_errors_total', 'Invocations whose handler failed.', (c) => c.functionErrors],
  [
    'sluice_platform_errors_total',
    'Invocations ended by a timeout, the memory limit or a crash.',
    (c) => c.platformErrors,
  ],
  ['sluice_throttles_total', 'Invocations refused with 429 at the concurrency limit.', (c) => c.throttles],
  [
    'sluice_cold_starts_total',
    'Invocations that waited for their instance to start (cold starts).',
    (c) => c.coldStarts,
  ],
];

/** Gauges of a version's instances on this node, after `sluice_instances` (which splits them by state). */
const INSTANCE_GAUGES: [name: string, help: string, read: (i: InstanceCounts) => number][] = [
  [
    'sluice_provisioned_instances',
    'Provisioned instances of a version on this node (of sluice_instances).',
    (i) => i.provisioned,
  ],
  [
    'sluice_invocations_waiting',
    'Invocations of a version waiting for an instance on this node.',
    (i) => i.waiting,
  ],
];

/** The Prometheus text exposition (version 0.0.4) of the counters since this process started. */
export function renderPrometheus(
  series: readonly SeriesTotals[],
  instances: readonly InstanceCounts[],
  standbys: readonly StandbyCounts[] = [],
  /** Calls of each store operation (by name) since this process started. */
  storeOperations: ReadonlyMap<string, number> = new Map(),
): string {
  const lines: string[] = [];
  const labels = (s: SeriesTotals) =>
    `function="${escape(s.functionName)}",version="${escape(s.versionId)}",qualifier="${escape(s.qualifier)}",source="${s.source}"`;
  for (const [name, help, read] of COUNTERS) {
    lines.push(...family(name, 'counter', help));
    for (const s of series) lines.push(`${name}{${labels(s)}} ${read(s.counters)}`);
  }
  // Split by the instance that ran them: a provisioned one, or one started on demand (or none, when refused).
  for (const [name, help, all, ofProvisioned] of [
    [
      'sluice_invocations_by_instance_total',
      'Invocations by the kind of instance that ran them: provisioned, or on-demand.',
      (c: Counters) => c.invocations,
      (s: SeriesTotals) => s.provisioned.invocations,
    ],
    [
      'sluice_cold_starts_by_instance_total',
      'Cold starts by the kind of instance started: provisioned (an invocation that waited for one), or on-demand.',
      (c: Counters) => c.coldStarts,
      (s: SeriesTotals) => s.provisioned.coldStarts,
    ],
  ] as const) {
    lines.push(...family(name, 'counter', help));
    for (const s of series) {
      lines.push(
        `${name}{${labels(s)},instance="provisioned"} ${ofProvisioned(s)}`,
        `${name}{${labels(s)},instance="on-demand"} ${all(s.counters) - ofProvisioned(s)}`,
      );
    }
  }
  const histogram = 'sluice_invocation_duration_seconds';
  lines.push(...family(histogram, 'histogram', 'How long invocations took, as the gateway saw them.'));
  for (const s of series) {
    let cumulative = 0;
    BOUNDS_MS.forEach((bound, i) => {
      cumulative += s.counters.histogram[i] ?? 0;
      lines.push(`${histogram}_bucket{${labels(s)},le="${bound / 1000}"} ${cumulative}`);
    });
    lines.push(
      `${histogram}_bucket{${labels(s)},le="+Inf"} ${s.counters.invocations}`,
      `${histogram}_sum{${labels(s)}} ${s.counters.durationSumMs / 1000}`,
      `${histogram}_count{${labels(s)}} ${s.counters.invocations}`,
    );
  }
  lines.push(...family('sluice_instances', 'gauge', 'Instances of a version on this node, by state.'));
  for (const i of instances) {
    lines.push(
      `sluice_instances{${instanceLabels(i)},state="warm"} ${i.instances - i.busy}`,
      `sluice_instances{${instanceLabels(i)},state="busy"} ${i.busy}`,
    );
  }
  for (const [name, help, read] of INSTANCE_GAUGES) {
    lines.push(...family(name, 'gauge', help));
    for (const i of instances) lines.push(`${name}{${instanceLabels(i)}} ${read(i)}`);
  }
  lines.push(
    '# HELP sluice_standby_instances Runtime processes started ahead of any function on this node, by state.',
    '# TYPE sluice_standby_instances gauge',
  );
  for (const s of standbys) {
    const base = `runtime="${escape(s.runtime)}",network="${escape(s.network)}"`;
    lines.push(
      `sluice_standby_instances{${base},state="ready"} ${s.ready}`,
      `sluice_standby_instances{${base},state="starting"} ${s.starting}`,
    );
  }
  lines.push(
    '# HELP sluice_store_operations_total Operations this node asked of its store (SQLite or PostgreSQL), by operation.',
    '# TYPE sluice_store_operations_total counter',
  );
  for (const [operation, count] of [...storeOperations].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`sluice_store_operations_total{operation="${escape(operation)}"} ${count}`);
  return `${lines.join('\n')}\n`;
}
