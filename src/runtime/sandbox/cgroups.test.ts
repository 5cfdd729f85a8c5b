import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CgroupTree, parseCgroupHost, readCgroupHost } from './cgroups.js';

const HYBRID_MOUNTINFO = `
24 1 0:21 / / rw,relatime - overlay overlay rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
4:memory:/process_api/6c12
1:cpu:/
0::/
`;

const V2_MOUNTINFO = `
24 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
`;

describe('parseCgroupHost', () => {
  it('uses the v1 hierarchies of a hybrid host, with this process’s place in each', () => {
    const host = parseCgroupHost(HYBRID_MOUNTINFO, HYBRID_SELF, '');
    assert.deepEqual(host.v1, {
      memory: { mount: '/sys/fs/cgroup/memory', own: '/process_api/6c12' },
      pids: { mount: '/sys/fs/cgroup/pids', own: '/' },
      cpu: { mount: '/sys/fs/cgroup/cpu', own: '/' },
    });
    assert.equal(host.v2, undefined, 'its unified hierarchy has no controllers');
  });

  it('uses v2 when it holds memory, pids and cpu', () => {
    const host = parseCgroupHost(
      V2_MOUNTINFO,
      '0::/system.slice/sluice.service\n',
      'cpuset cpu io memory pids',
    );
    assert.equal(host.v1, undefined);
    assert.deepEqual(host.v2, { mount: '/sys/fs/cgroup', own: '/system.slice/sluice.service' });
  });

  it('finds nothing when a controller is missing', () => {
    assert.deepEqual(parseCgroupHost(V2_MOUNTINFO, '0::/\n', 'cpu io memory'), {});
    const noPids = HYBRID_MOUNTINFO.replace(/.*pids\n/, '');
    assert.equal(parseCgroupHost(noPids, HYBRID_SELF, '').v1, undefined);
  });

  it('reads octal escapes in mount points', () => {
    const mountinfo = '33 30 0:29 / /sys/fs/my\\040cgroups/memory rw - cgroup cgroup rw,memory\n';
    const host = parseCgroupHost(
      `${mountinfo}31 30 0:27 / /c/cpu rw - cgroup cgroup rw,cpu\n35 30 0:31 / /c/pids rw - cgroup cgroup rw,pids\n`,
      HYBRID_SELF,
      '',
    );
    assert.equal(host.v1?.memory.mount, '/sys/fs/my cgroups/memory');
  });
});

describe('an instance cgroup on this host', () => {
  it('takes new limits later, as a standby does once its function is known, raised or lowered', async (t) => {
    const host = await readCgroupHost();
    let tree: CgroupTree;
    try {
      tree = await CgroupTree.create(host, `sluice-${process.pid}-${randomBytes(3).toString('hex')}`);
    } catch (error) {
      t.skip(`this host lets the test make no cgroups: ${(error as Error).message}`);
      return;
    }
    const MB = 1024 * 1024;
    const group = await tree.instance({ memoryBytes: 128 * MB, pids: 64, memorySizeMb: 128 });
    // Where the group is, as the kernel tells of a process in it.
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
    try {
      await group.attach(sleeper.pid as number);
      const lines = (await readFile(`/proc/${sleeper.pid}/cgroup`, 'utf8')).split('\n');
      const dirOf = (controller: 'memory' | 'cpu') => {
        if (tree.version === 2)
          return join(host.v2?.mount ?? '', lines.find((l) => l.startsWith('0::'))?.slice(3) ?? '');
        const line = lines.find((l) => l.split(':')[1]?.split(',').includes(controller)) ?? '';
        return join(host.v1?.[controller].mount ?? '', line.split(':')[2] ?? '');
      };
      const read = (controller: 'memory' | 'cpu', file: string) =>
        readFile(join(dirOf(controller), file), 'utf8').then(
          (text) => text.trim(),
          () => undefined,
        );
      for (const mb of [512, 64, 1024]) {
        await group.limit({ memoryBytes: mb * MB, pids: 64, memorySizeMb: mb });
        if (tree.version === 1) {
          assert.equal(await read('memory', 'memory.limit_in_bytes'), String(mb * MB));
          const memsw = await read('memory', 'memory.memsw.limit_in_bytes');
          if (memsw !== undefined) assert.equal(memsw, String(mb * MB), 'swap included, at the same bound');
          assert.equal(await read('cpu', 'cpu.shares'), String(mb));
        } else {
          assert.equal(await read('memory', 'memory.max'), String(mb * MB));
          assert.equal(await read('cpu', 'cpu.weight'), String(Math.round(mb / 16)));
        }
      }
    } finally {
      sleeper.kill('SIGKILL');
      await group.destroy();
      await tree.close();
    }
  });
});
