import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLONE_NAMESPACE_FLAGS, seccompArch, seccompProgram, type SeccompArch } from './seccomp.js';

interface Call {
  arch: number;
  nr: number;
  arg0?: number;
}

/** Runs a classic BPF program the way the kernel runs a seccomp filter, over the fields it reads. */
function run(program: Buffer, call: Call): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(call.nr, 0);
  data.writeUInt32LE(call.arch, 4);
  data.writeUInt32LE((call.arg0 ?? 0) >>> 0, 16);
  let accumulator = 0;
  for (let pc = 0; pc < program.length / 8;) {
    const op = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (op) {
      case 0x20:
        accumulator = data.readUInt32LE(k);
        pc++;
        break;
      case 0x15:
        pc += 1 + (accumulator === k ? jt : jf);
        break;
      case 0x35:
        pc += 1 + (accumulator >= k ? jt : jf);
        break;
      case 0x45:
        pc += 1 + ((accumulator & k) !== 0 ? jt : jf);
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`unexpected opcode ${op}`);
    }
  }
  throw new Error('the program ran off its end');
}

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;

const TABLES: Record<SeccompArch, { arch: number; refused: number[]; allowed: number[]; clone: number }> = {
  x64: {
    arch: 0xc000003e,
    // ptrace, process_vm_readv/writev, keyctl, add_key, request_key, unshare, setns, mount, bpf, perf_event_open
    refused: [101, 310, 311, 250, 248, 249, 272, 308, 165, 321, 298],
    // read, write, openat, mmap, futex, epoll_wait, execve, fork, vfork, kill, socket, connect, exit_group
    allowed: [0, 1, 257, 9, 202, 232, 59, 57, 58, 62, 41, 42, 231],
    clone: 56,
  },
  arm64: {
    arch: 0xc00000b7,
    refused: [117, 270, 271, 219, 217, 218, 97, 268, 40, 280, 241],
    // read, write, openat, mmap, futex, execve, kill, socket, connect, exit_group
    allowed: [63, 64, 56, 222, 98, 221, 129, 198, 203, 94],
    clone: 220,
  },
};

for (const [name, table] of Object.entries(TABLES) as [SeccompArch, (typeof TABLES)['x64']][]) {
  describe(`the seccomp filter on ${name}`, () => {
    const program = seccompProgram(name);

    it('refuses tracing, other processes’ memory, keyrings, namespaces, mounts, bpf and perf with EPERM', () => {
      for (const nr of table.refused)
        assert.equal(run(program, { arch: table.arch, nr }), EPERM, `syscall ${nr}`);
    });

    it('allows what runtimes use', () => {
      for (const nr of table.allowed)
        assert.equal(run(program, { arch: table.arch, nr }), ALLOW, `syscall ${nr}`);
    });

    it('allows clone for threads and processes, refuses it with any namespace flag', () => {
      const thread = 0x3d0f00; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
      assert.equal(run(program, { arch: table.arch, nr: table.clone, arg0: thread }), ALLOW);
      assert.equal(run(program, { arch: table.arch, nr: table.clone, arg0: 17 }), ALLOW); // SIGCHLD: fork
      for (let bit = 0; bit < 32; bit++) {
        const flag = 2 ** bit;
        if ((CLONE_NAMESPACE_FLAGS & flag) === 0) continue;
        assert.equal(
          run(program, { arch: table.arch, nr: table.clone, arg0: flag | 17 }),
          EPERM,
          `flag ${flag}`,
        );
      }
    });

    it('answers clone3 ENOSYS, so that the C library falls back to clone', () => {
      assert.equal(run(program, { arch: table.arch, nr: 435 }), ENOSYS);
    });

    it('refuses every syscall of another architecture', () => {
      for (const nr of [...table.allowed, ...table.refused])
        assert.equal(run(program, { arch: 0x40000003, nr }), ENOSYS);
    });
  });
}

describe('seccomp on x86-64', () => {
  it('refuses the x32 ABI', () => {
    assert.equal(run(seccompProgram('x64'), { arch: 0xc000003e, nr: 0x40000000 + 1 }), ENOSYS);
  });
});

describe('seccompArch', () => {
  it('knows x64 and arm64 only', () => {
    assert.equal(seccompArch('x64'), 'x64');
    assert.equal(seccompArch('arm64'), 'arm64');
    assert.equal(seccompArch('ia32'), undefined);
    assert.equal(seccompArch('riscv64'), undefined);
  });
});
