import { describeSpec } from './alias-form.js';
import { aliasPath } from './alias-history.js';
import { sendJson, type AliasView, type Rule } from './api.js';
import { badge, clear, errorBox, field, fieldError, formatPercent, h, overlay, spinner } from './dom.js';

interface Explanation {
  alias: string;
  revision: number;
  version: string;
  target: 'primary' | 'canary';
  reason: 'no canary' | 'weight' | 'rules';
  weight?: number;
  sticky?: { source: string; name: string; value: string; bucket: number };
  draw?: number;
  match?: 'all' | 'any';
  conditions?: { condition: Rule; value: string | undefined; holds: boolean }[];
}

/** `name: value` (or `name=value`) lines into an object; the first line that is neither is reported. */
function parsePairs(text: string, label: string): { values: Record<string, string>; error?: string } {
  const values: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.search(/[:=]/);
    if (at <= 0) return { values, error: `${label}, line ${i + 1}: write name: value` };
    values[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return { values };
}

/** Which version a request with these attributes would get from the alias, and why (the explain API). */
export function openExplain(functionName: string, alias: AliasView): void {
  const dlg = overlay({
    title: `Which version would serve a request to ${alias.name}?`,
    testid: 'explain-dialog',
    wide: true,
  });
  const area = (id: string, placeholder: string) =>
    h('textarea', { id, class: 'input mono', rows: 2, placeholder, testid: id, spellcheck: 'false' });
  const headers = area('explain-headers', 'x-test-uid: tester');
  const cookies = area('explain-cookies', 'uid=42');
  const query = area('explain-query', 'beta=1');
  const key = area('explain-key', 'userId: 42');
  const error = fieldError('explain-error');
  const out = h('div', { testid: 'explain-result', 'aria-live': 'polite' });
  const run = async () => {
    const parts = [
      ['headers', parsePairs(headers.value, 'Headers')],
      ['cookies', parsePairs(cookies.value, 'Cookies')],
      ['query', parsePairs(query.value, 'Query')],
      ['routingKey', parsePairs(key.value, 'Routing key')],
    ] as const;
    const problem = parts.find(([, p]) => p.error)?.[1].error;
    error.set(problem);
    if (problem) return;
    const body: Record<string, Record<string, string>> = {};
    for (const [name, p] of parts) if (Object.keys(p.values).length) body[name] = p.values;
    clear(out, spinner('Asking the router…'));
    try {
      const { body: e } = await sendJson<Explanation>(
        'POST',
        `${aliasPath(functionName, alias.name)}/explain`,
        body,
      );
      const why =
        e.reason === 'no canary'
          ? 'The alias has no canary: every request goes to its primary version.'
          : e.reason === 'weight'
            ? e.sticky
              ? `Sticky by ${e.sticky.source} ${e.sticky.name} = “${e.sticky.value}”: its bucket ${e.sticky.bucket} against a weight of ${formatPercent(e.weight ?? 0)}.`
              : `A random draw (${(e.draw ?? 0).toFixed(4)}) against a weight of ${formatPercent(e.weight ?? 0)}: another request may go elsewhere.`
            : `Rules, ${e.match === 'any' ? 'any' : 'all'} of which must hold:`;
      clear(
        out,
        h(
          'div',
          { class: `result-status ${e.target === 'canary' ? 'canary' : 'ok'}`, testid: 'explain-version' },
          `Version ${e.version} (${e.target})`,
        ),
        h('p', null, why),
        e.conditions &&
          h(
            'table',
            { class: 'table' },
            h(
              'thead',
              null,
              h('tr', null, ...['Condition', 'Request value', 'Holds'].map((t) => h('th', null, t))),
            ),
            h(
              'tbody',
              null,
              e.conditions.map((c) =>
                h(
                  'tr',
                  null,
                  h(
                    'td',
                    { class: 'mono small' },
                    `${c.condition.source}:${c.condition.name} ${c.condition.op} ${Array.isArray(c.condition.value) ? c.condition.value.join(', ') : String(c.condition.value)}`,
                  ),
                  h('td', { class: 'mono small' }, c.value ?? '(absent)'),
                  h('td', null, c.holds ? badge('yes', 'badge-ok') : badge('no', 'badge-bad')),
                ),
              ),
            ),
          ),
      );
    } catch (err) {
      clear(out, errorBox(err));
    }
  };
  dlg.body.append(
    h(
      'p',
      { class: 'muted small' },
      `The same decision the router takes for ${alias.name} at revision ${alias.revision}: ${describeSpec(alias)}.`,
    ),
    h(
      'div',
      { class: 'form-grid' },
      field('Headers (name: value per line)', headers),
      field('Cookies', cookies),
      field('Query parameters', query),
      field('Routing key (invoke API)', key),
    ),
    error,
    out,
  );
  dlg.footer.append(
    h('button', { class: 'btn', type: 'button', onClick: dlg.close }, 'Close'),
    h(
      'button',
      { class: 'btn btn-primary', type: 'button', testid: 'explain-run', onClick: () => void run() },
      'Explain',
    ),
  );
}
