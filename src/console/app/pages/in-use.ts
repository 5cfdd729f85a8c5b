import { ApiError } from '../api.js';
import { h } from '../dom.js';
import type { FunctionPageState } from './function-context.js';

/** What an …InUse refusal's details name, and where the console changes each. */
const REFERRERS = [
  { key: 'aliases', what: 'Aliases', where: 'on the Aliases tab', tab: 'aliases' },
  { key: 'triggers', what: 'Triggers', where: 'on the Triggers tab', tab: 'triggers' },
  { key: 'stages', what: 'API gateway stages', where: 'on the API Gateway page', tab: undefined },
] as const;

/**
 * Under a refused delete (`AliasInUse`, `VersionInUse`): each alias, trigger or stage that still refers to
 * what was to go, with a link to where it can be pointed elsewhere. Nothing for another error.
 */
export function inUseHelp(error: unknown, page: FunctionPageState): HTMLElement | null {
  if (!(error instanceof ApiError) || !error.code.endsWith('InUse')) return null;
  const details = (error.details ?? {}) as Partial<Record<string, unknown>>;
  const items = REFERRERS.flatMap(({ key, what, where, tab }) => {
    const names = details[key];
    if (!Array.isArray(names) || names.length === 0) return [];
    return [
      h(
        'li',
        { testid: `in-use-${key}` },
        `${what}: ${names.join(', ')}. Point them elsewhere or delete them `,
        h('a', { href: tab ? page.href(tab, '$LATEST') : '#/apis' }, where),
        ', then try again.',
      ),
    ];
  });
  return items.length > 0 ? h('ul', { class: 'small in-use', testid: 'in-use-help' }, items) : null;
}
