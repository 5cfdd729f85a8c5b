import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCgroupHost } from './cgroups.js';

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
