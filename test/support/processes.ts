import { readdir, readFile } from 'node:fs/promises';

/** A process on this host as /proc tells of it. */
export interface HostProcess {
  pid: number;
  uid: number;
  /** Its pid in each PID namespace it belongs to, the host's first. */
  nsPids: number[];
}

/** Every process of the host that this test may see. */
export async function hostProcesses(): Promise<HostProcess[]> {
  const found: HostProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => undefined);
    if (status === undefined) continue;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const nsPids = (/^NSpid:\s+(.*)$/m.exec(status)?.[1] ?? entry).split(/\s+/).map(Number);
    found.push({ pid: Number(entry), uid, nsPids });
  }
  return found;
}

/** The host pid of the process that calls itself `nsPid` and runs as `uid` (an instance's runtime). */
export async function hostPid(uid: number, nsPid: number): Promise<number> {
  const matches = (await hostProcesses()).filter((p) => p.uid === uid && p.nsPids.at(-1) === nsPid);
  if (matches.length !== 1) throw new Error(`${matches.length} processes of user ${uid} have pid ${nsPid}`);
  return (matches[0] as HostProcess).pid;
}
