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

/**
 * The most recent log output, bounded in bytes: the oldest records go first. Records are indexed by
 * request id so that an invocation's own log can be returned with its response.
 */
export class LogBuffer {
  private records: LogRecord[] = [];
  private head = 0;
  private bytes = 0;
  private readonly byRequest = new Map<string, LogRecord[]>();

  constructor(private readonly maxBytes: number) {}

  append(record: LogRecord): void {
    this.records.push(record);
    this.bytes += record.text.length;
    if (record.requestId !== undefined) {
      const list = this.byRequest.get(record.requestId);
      if (list) list.push(record);
      else this.byRequest.set(record.requestId, [record]);
    }
    while (this.bytes > this.maxBytes && this.head < this.records.length) this.evictOldest();
    // Compact now and then, rather than shifting the array on every eviction.
    if (this.head > 4096 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  private evictOldest(): void {
    const oldest = this.records[this.head++] as LogRecord;
    this.bytes -= oldest.text.length;
    if (oldest.requestId === undefined) return;
    const list = this.byRequest.get(oldest.requestId);
    list?.shift();
    if (list?.length === 0) this.byRequest.delete(oldest.requestId);
  }

  /** The text one invocation wrote, in the order it was written. */
  textOf(requestId: string): string {
    const list = this.byRequest.get(requestId);
    if (list === undefined) return '';
    return list.length === 1 ? (list[0] as LogRecord).text : list.map((r) => r.text).join('');
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
