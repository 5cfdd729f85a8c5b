/** A range of user ids that the host leaves unused, for instances: `first` to `first + count - 1`. */
export interface UidRange {
  first: number;
  count: number;
}

export const DEFAULT_UID_RANGE: UidRange = { first: 700_000_000, count: 65_536 };

/** Reads `FIRST-LAST` (inclusive), as the --instance-uids flag takes it. */
export function parseUidRange(text: string): UidRange | undefined {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  // 0 is root, and 2^32 - 1 means "no user" to the kernel; 65534 is nobody, which other software uses.
  if (first < 1000 || last < first || last >= 2 ** 32 - 1 || (first <= 65534 && last >= 65534))
    return undefined;
  return { first, count: last - first + 1 };
}

/**
 * One user id per function, never shared by two functions on this node: the hash of the function's name
 * picks a place in the range, so a function keeps its id across restarts unless another name's hash took
 * that place first, in which case it takes the next free one.
 */
export class FunctionUids {
  private readonly byFunction = new Map<string, number>();
  private readonly taken = new Set<number>();

  constructor(private readonly range: UidRange) {}

  uidFor(functionName: string): number {
    const known = this.byFunction.get(functionName);
    if (known !== undefined) return known;
    if (this.taken.size >= this.range.count)
      throw new Error(`all ${this.range.count} instance user ids are taken; widen --instance-uids`);
    let offset = fnv1a(functionName) % this.range.count;
    while (this.taken.has(this.range.first + offset)) offset = (offset + 1) % this.range.count;
    const uid = this.range.first + offset;
    this.taken.add(uid);
    this.byFunction.set(functionName, uid);
    return uid;
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
