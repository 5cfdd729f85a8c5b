/** One piece of output of an instance, attributed to an invocation where it can be. */
export interface LogRecord {
  at: number;
  functionName: string;
  versionId: string;
  qualifier: string | undefined;
  requestId: string | undefined;
  stream: 'stdout' | 'stderr' | 'platform';
  text: string;
}

/** The most of one invocation's output that is kept: its newest bytes. */
export const MAX_INVOCATION_OUTPUT = 64 * 1024;

interface Output {
  chunks: string[];
  length: number;
  dropped: number;
}

/**
 * What each invocation in flight has written, from its start until it is recorded; then it is gone. Output
 * that arrives for an invocation already recorded (or never begun) is refused, and goes to the instance's
 * own log instead.
 */
export class InvocationOutput {
  private readonly open = new Map<string, Output>();

  constructor(private readonly maxChars: number = MAX_INVOCATION_OUTPUT) {}

  begin(requestId: string): void {
    this.open.set(requestId, { chunks: [], length: 0, dropped: 0 });
  }

  /** Adds to an invocation's output; false when it is not in flight. */
  append(requestId: string, text: string): boolean {
    const output = this.open.get(requestId);
    if (!output) return false;
    output.chunks.push(text);
    output.length += text.length;
    while (output.length - (output.chunks[0]?.length ?? 0) >= this.maxChars) {
      const oldest = output.chunks.shift() as string;
      output.length -= oldest.length;
      output.dropped += oldest.length;
    }
    return true;
  }

  /** The invocation's output, its newest `maxChars` characters, and the end of its keeping. */
  end(requestId: string): string {
    const output = this.open.get(requestId);
    this.open.delete(requestId);
    if (!output) return '';
    const text = output.chunks.length === 1 ? (output.chunks[0] as string) : output.chunks.join('');
    const dropped = output.dropped + Math.max(0, text.length - this.maxChars);
    if (dropped === 0) return text;
    return `[sluice] the first ${dropped} characters were dropped\n${text.slice(-this.maxChars)}`;
  }

  /** Invocations whose output is being kept: none once every invocation is recorded (tests check no leak). */
  get inFlight(): number {
    return this.open.size;
  }
}

/** The last `maxBytes` bytes of a text in UTF-8, cut at a character boundary. */
export function tailOf(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let start = bytes.length - maxBytes;
  while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
  return bytes.subarray(start);
}
