/** What /proc tells of processes: their parents, the CPU they have used, their memory. */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessStat {
  ppid: number;
  /**
   * The time its threads have run, in nanoseconds (schedstat): exact, where stat's utime and stime count
   * whole ticks of 10 ms, and charge a tick to whatever runs when it falls.
   */
  cpuNs: number;
  /** How often its threads have gone to sleep and been woken (voluntary context switches). */
  wakeups: number;
}

function readStat(pid: number): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields are counted from its closing one.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    let cpuNs = 0;
    let wakeups = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
    return { ppid: Number(fields[1]), cpuNs, wakeups };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process this one may see, by pid. */
export function processes(): Map<number, ProcessStat> {
  const found = new Map<number, ProcessStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) found.set(Number(entry), stat);
  }
  return found;
}

/** The processes below `root`: its children, theirs, and so on. */
export function descendants(all: ReadonlyMap<number, ProcessStat>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of all) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const pending = [...(children.get(root) ?? [])];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    found.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** What `pids` used of a figure between two readings of `processes()`: a process gone by `after` counts nothing. */
export function usedBetween(
  before: ReadonlyMap<number, ProcessStat>,
  after: ReadonlyMap<number, ProcessStat>,
  pids: readonly number[],
  field: keyof Omit<ProcessStat, 'ppid'>,
): number {
  return pids.reduce((sum, pid) => sum + (after.get(pid)?.[field] ?? 0) - (before.get(pid)?.[field] ?? 0), 0);
}

/** The process's resident memory, in bytes. */
export function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(kb) * 1024;
}
