import { enc, fnPath, getJson, type AsyncInvocationView } from './api.js';
import { badge, cardHead, clear, dataTable, errorBox, formatTime, h, spinner } from './dom.js';

type Status = AsyncInvocationView['status'];

export const ASYNC_STATUSES: readonly Status[] = ['queued', 'running', 'succeeded', 'failed', 'expired'];

const BADGES: Record<Status, string> = {
  queued: 'badge-muted',
  running: 'badge-accent',
  succeeded: 'badge-ok',
  failed: 'badge-bad',
  expired: 'badge-warn',
};

export function statusBadge(status: Status): HTMLElement {
  return badge(status, BADGES[status]);
}

/** Whether the record can still change: its event is waiting or running. */
export const pending = (r: AsyncInvocationView): boolean => r.status === 'queued' || r.status === 'running';

/** How long an attempt ran: "412 ms", "3.2 s". */
function took(from: string, to: string): string {
  const ms = new Date(to).getTime() - new Date(from).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Where the console shows what queued the event: a timer's trigger, the record a destination came from. */
export interface SourceLinks {
  trigger: (name: string) => string;
  record: (requestId: string) => string;
}

export function sourceCell(source: string, links: SourceLinks): Node | string {
  const timer = /^(?:timer|queue):(.+)$/.exec(source);
  if (timer?.[1]) return h('a', { href: links.trigger(timer[1]) }, source);
  const destination = /^destination:(.+)$/.exec(source);
  if (destination?.[1]) return h('a', { href: links.record(destination[1]) }, source);
  return source;
}

/**
 * One asynchronous invocation: its status, what queued it, every attempt with the version that ran it, and
 * its result or error, followed every 2 s while it is queued or running.
 */
export function renderAsyncRecord(
  host: HTMLElement,
  options: { functionName: string; requestId: string; signal: AbortSignal; links: SourceLinks },
): void {
  const path = `${fnPath(options.functionName)}/async-invocations/${enc(options.requestId)}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  options.signal.addEventListener('abort', () => {
    clearTimeout(timer);
  });
  const load = () => {
    getJson<AsyncInvocationView>(path, options.signal)
      .then((r) => {
        if (options.signal.aborted) return;
        clear(host, recordView(r, options.links));
        if (pending(r)) timer = setTimeout(load, 2000);
      })
      .catch((error: unknown) => {
        if (!options.signal.aborted) clear(host, errorBox(error, load));
      });
  };
  clear(host, spinner('Loading the invocation…'));
  load();
}

function recordView(r: AsyncInvocationView, links: SourceLinks): HTMLElement {
  const item = (label: string, value: Node | string, testid?: string) =>
    h('div', { class: 'kv' }, h('dt', null, label), h('dd', { testid, class: 'mono' }, value));
  return h(
    'div',
    { class: 'stack', testid: 'async-record' },
    h(
      'section',
      { class: 'card' },
      cardHead(
        'Asynchronous invocation',
        'Its qualifier chose the version when it ran; each attempt records the one that ran it.',
        h('span', { testid: 'async-record-status' }, statusBadge(r.status)),
      ),
      h(
        'dl',
        { class: 'kv-grid card-pad' },
        item('Request id', r.requestId, 'async-record-id'),
        item('Qualifier', r.qualifier, 'async-record-qualifier'),
        item('Version that ran', r.version ?? '—', 'async-record-version'),
        item('Source', sourceCell(r.source, links), 'async-record-source'),
        item('Payload', `${r.payloadBytes} bytes`),
        item('Queued', formatTime(r.createdAt)),
        r.nextAttemptAt ? item('Next attempt', formatTime(r.nextAttemptAt)) : null,
        item('Finished', r.finishedAt ? formatTime(r.finishedAt) : '—'),
      ),
    ),
    h(
      'section',
      { class: 'card card-pad' },
      h('h3', null, `Attempts (${r.attempts.length})`),
      r.attempts.length === 0
        ? h('p', { class: 'muted' }, 'None yet.')
        : dataTable(
            ['#', 'Version', 'Node', 'Started', 'Took', 'Error'],
            r.attempts.map((a, i) =>
              h(
                'tr',
                { testid: `async-attempt-${i + 1}` },
                h('td', null, String(i + 1)),
                h('td', null, a.version ?? '—'),
                h('td', { class: 'mono small' }, a.node),
                h('td', null, formatTime(a.startedAt)),
                h('td', null, took(a.startedAt, a.endedAt)),
                h('td', { class: 'small' }, a.errorCode ? `${a.errorCode}: ${a.errorMessage ?? ''}` : '—'),
              ),
            ),
            { testid: 'async-attempts' },
          ),
    ),
    (r.error !== undefined || r.result !== undefined || r.destination !== undefined) &&
      h(
        'section',
        { class: 'card card-pad' },
        h('h3', null, 'Outcome'),
        r.error &&
          h(
            'div',
            { class: 'alert alert-error', role: 'alert', testid: 'async-record-error' },
            h('div', { class: 'alert-title' }, r.error.code),
            h('div', { class: 'alert-body' }, r.error.message),
          ),
        r.result !== undefined && h('pre', { class: 'pre', testid: 'async-record-result' }, r.result),
        r.destination &&
          h(
            'p',
            { class: 'small', testid: 'async-record-destination' },
            `Record sent to ${r.destination.target}: ${r.destination.status}`,
            r.destination.error ? ` (${r.destination.error})` : '',
          ),
      ),
  );
}
