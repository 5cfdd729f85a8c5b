import type { ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** How often a comment is sent while nothing else is, so that proxies keep the connection. */
  heartbeatMs: number;
  /**
   * Events that may wait for a slow reader. Beyond, the stream ends: its follower reconnects with the id of the
   * last event it got (`Last-Event-ID`) and is sent the rest from where they are kept, so nothing is lost and
   * the server holds no unbounded queue for it.
   */
  maxQueued: number;
}

export interface EventStream {
  send(event: string, data: string, id?: number): void;
  comment(text: string): void;
}

/**
 * A Server-Sent Events response that honours backpressure: once the socket's buffer is full, events wait in a
 * bounded queue until it drains. `onClose` runs once, when the response ends for any reason.
 */
export function openEventStream(
  res: ServerResponse,
  options: EventStreamOptions,
  onClose: () => void,
): EventStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  const queue: string[] = [];
  const write = (chunk: string) => {
    if (res.writableEnded) return;
    if (!res.writableNeedDrain && queue.length === 0) {
      res.write(chunk);
      return;
    }
    if (queue.length >= options.maxQueued) {
      queue.length = 0;
      res.end();
      return;
    }
    queue.push(chunk);
    if (queue.length === 1) res.once('drain', flush);
  };
  const flush = () => {
    while (queue.length > 0 && !res.writableNeedDrain) res.write(queue.shift());
    if (queue.length > 0) res.once('drain', flush);
  };
  const heartbeat = setInterval(() => {
    // A reader that is behind needs no sign of life.
    if (!res.writableNeedDrain && queue.length === 0) write(': keep-alive\n\n');
  }, options.heartbeatMs);
  res.once('close', () => {
    clearInterval(heartbeat);
    onClose();
  });
  return {
    send(event, data, id) {
      write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`);
    },
    comment(text) {
      write(`: ${text}\n\n`);
    },
  };
}
