/**
 * The seccomp filter every sandboxed instance runs under, as the classic BPF program that bubblewrap's
 * `--seccomp FD` loads. It refuses what no function needs and what would let one reach past its sandbox:
 * new namespaces (above all user namespaces, the way to capabilities), tracing and reading other processes'
 * memory, kernel keyrings, mounts, BPF, perf and module loading. Everything else is allowed.
 */

export type SeccompArch = 'x64' | 'arm64';

const AUDIT_ARCH: Record<SeccompArch, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };

const REFUSED_NAMES = [
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'keyctl',
  'add_key',
  'request_key',
  'unshare',
  'setns',
  'mount',
  'umount2',
  'pivot_root',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'open_by_handle_at',
] as const;

type SyscallName = (typeof REFUSED_NAMES)[number] | 'clone' | 'clone3';

const SYSCALLS: Record<SeccompArch, Record<SyscallName, number>> = {
  x64: {
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    keyctl: 250,
    add_key: 248,
    request_key: 249,
    unshare: 272,
    setns: 308,
    mount: 165,
    umount2: 166,
    pivot_root: 155,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    bpf: 321,
    perf_event_open: 298,
    userfaultfd: 323,
    kexec_load: 246,
    kexec_file_load: 320,
    init_module: 175,
    finit_module: 313,
    delete_module: 176,
    open_by_handle_at: 304,
    clone: 56,
    clone3: 435,
  },
  arm64: {
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    keyctl: 219,
    add_key: 217,
    request_key: 218,
    unshare: 97,
    setns: 268,
    mount: 40,
    umount2: 39,
    pivot_root: 41,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    bpf: 280,
    perf_event_open: 241,
    userfaultfd: 282,
    kexec_load: 104,
    kexec_file_load: 294,
    init_module: 105,
    finit_module: 273,
    delete_module: 106,
    open_by_handle_at: 265,
    clone: 220,
    clone3: 435,
  },
};

/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: a clone() with any of them is refused. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** On x86-64, syscalls of the x32 ABI carry this bit; they are refused rather than filtered twice. */
const X32_SYSCALL_BIT = 0x40000000;

const EPERM = 1;
const ENOSYS = 38;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

// Offsets into struct seccomp_data: nr, arch, then (after the instruction pointer) the arguments.
const DATA_NR = 0;
const DATA_ARCH = 4;
const DATA_ARG0_LOW = 16;

type Label = 'allow' | 'eperm' | 'enosys' | 'checkClone';

type Instruction =
  { op: number; k: number } | { op: number; k: number; jt: Label | 0; jf: Label | 0 } | { label: Label };

/** The filter for `arch`, as the bytes of `struct sock_filter[]` in the machine's (little-endian) order. */
export function seccompProgram(arch: SeccompArch): Buffer {
  const numbers = SYSCALLS[arch];
  const code: Instruction[] = [
    { op: LD_W_ABS, k: DATA_ARCH },
    // Another ABI (i386 on x86-64, arm32 on arm64) has other numbers: refuse all of it.
    { op: JEQ_K, k: AUDIT_ARCH[arch], jt: 0, jf: 'enosys' },
    { op: LD_W_ABS, k: DATA_NR },
    ...(arch === 'x64' ? [{ op: JGE_K, k: X32_SYSCALL_BIT, jt: 'enosys' as const, jf: 0 as const }] : []),
    ...REFUSED_NAMES.map((name) => ({ op: JEQ_K, k: numbers[name], jt: 'eperm' as const, jf: 0 as const })),
    // clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes the C library use clone.
    { op: JEQ_K, k: numbers.clone3, jt: 'enosys', jf: 0 },
    { op: JEQ_K, k: numbers.clone, jt: 'checkClone', jf: 'allow' },
    { label: 'checkClone' },
    { op: LD_W_ABS, k: DATA_ARG0_LOW },
    { op: JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' },
    { label: 'allow' },
    { op: RET_K, k: RET_ALLOW },
    { label: 'eperm' },
    { op: RET_K, k: RET_ERRNO | EPERM },
    { label: 'enosys' },
    { op: RET_K, k: RET_ERRNO | ENOSYS },
  ];
  return assemble(code);
}

function assemble(code: Instruction[]): Buffer {
  const at = new Map<Label, number>();
  const instructions: Exclude<Instruction, { label: Label }>[] = [];
  for (const item of code) {
    if ('label' in item) at.set(item.label, instructions.length);
    else instructions.push(item);
  }
  const out = Buffer.alloc(instructions.length * 8);
  instructions.forEach((instruction, index) => {
    const offset = (target: Label | 0 | undefined): number => {
      if (target === undefined || target === 0) return 0;
      const distance = (at.get(target) as number) - index - 1;
      if (distance < 0 || distance > 255) throw new Error(`seccomp jump to ${target} out of range`);
      return distance;
    };
    out.writeUInt16LE(instruction.op, index * 8);
    out.writeUInt8(offset('jt' in instruction ? instruction.jt : undefined), index * 8 + 2);
    out.writeUInt8(offset('jf' in instruction ? instruction.jf : undefined), index * 8 + 3);
    out.writeUInt32LE(instruction.k >>> 0, index * 8 + 4);
  });
  return out;
}

/** The filter's architecture for this process, or undefined where Sluice has no syscall table for it. */
export function seccompArch(arch: string = process.arch): SeccompArch | undefined {
  return arch === 'x64' || arch === 'arm64' ? arch : undefined;
}
