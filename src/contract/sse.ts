import { backoffDelay, type Backoff } from '../core/backoff.js';

/** One Server-Sent Event; `id` is the last id the stream set, as EventSource keeps it. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Parses a Server-Sent Events stream (the WHATWG format: `field: value` lines, a blank line ends an event,
 * `:` starts a comment) from its text, however the text is cut into chunks.
 */
export async function* serverSentEvents(
  text: AsyncIterable<string>,
  lastId?: string,
): AsyncGenerator<ServerSentEvent> {
  let id = lastId;
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of text) {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}

export interface FollowOptions {
  /** Opens the stream, sending `Last-Event-ID` when there is one; gives its text. */
  open(lastEventId: string | undefined): Promise<AsyncIterable<string>>;
  onEvent(event: ServerSentEvent): void;
  /** Called each time the stream is open, the first time and after each reconnection. */
  onOpen?(): void;
  signal: AbortSignal;
}

/** Waits before each reconnection: nodes that lost their followers at once do not get them back at once. */
const RECONNECT: Backoff = { firstMs: 250, maxMs: 5000, jitter: 0.2 };
/** Failed reconnections in a row after which the follow gives up and the last failure is thrown. */
const MAX_FAILURES = 6;

/**
 * Follows an event stream until `signal` aborts: when the stream ends or breaks, it reconnects with the id of
 * the last event received, so that the server sends what came after it, each event once. A failure to open the
 * stream the first time is thrown at once; later ones are retried with backoff, MAX_FAILURES times in a row.
 */
export async function followEvents(options: FollowOptions): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  let opened = false;
  // A function, not the property: the signal aborts behind the awaits.
  const aborted = () => options.signal.aborted;
  for (;;) {
    try {
      const text = await options.open(lastId);
      opened = true;
      failures = 0;
      options.onOpen?.();
      for await (const event of serverSentEvents(text, lastId)) {
        lastId = event.id;
        options.onEvent(event);
      }
    } catch (error) {
      if (aborted()) return;
      if (!opened || ++failures >= MAX_FAILURES) throw error;
    }
    if (aborted()) return;
    await sleep(backoffDelay(RECONNECT, failures), options.signal);
    if (aborted()) return;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
