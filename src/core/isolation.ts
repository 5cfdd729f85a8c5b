/** What keeps a node's functions apart, as `/readyz`, `GET /v1/server`, the console and `sluice server` report it. */
export interface IsolationReport {
  /** `bubblewrap`: each instance in namespaces of its own; `none`: instances are plain processes. */
  sandbox: 'bubblewrap' | 'none';
  /** Whose user id instances run under. */
  users: 'per-function' | 'server' | 'nobody';
  /** What enforces memory, process and CPU limits: the kernel's cgroups, or the server polling memory. */
  limits: 'cgroup-v1' | 'cgroup-v2' | 'polling';
  /** Why something stronger is missing, in words an operator can act on. */
  problems: string[];
}

/** Whether instances are confined and held to their limits by the kernel: what `--isolation required` asks. */
export function isFullyIsolated(report: IsolationReport): boolean {
  return report.sandbox === 'bubblewrap' && report.limits !== 'polling';
}

/** One line for an operator: what isolation this node has, and what it lacks. */
export function describeIsolation(report: IsolationReport): string {
  const head =
    report.sandbox === 'none'
      ? 'isolation: NONE, functions run as plain processes and can see each other and this host'
      : `isolation: a bubblewrap sandbox per instance, ${
          report.users === 'per-function' ? 'a user per function' : "the server's user"
        }, ${report.limits === 'polling' ? 'memory polled (no cgroups)' : `${report.limits} limits`}`;
  return report.problems.length === 0 ? head : `${head} (${report.problems.join('; ')})`;
}
