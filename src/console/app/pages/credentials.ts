import {
  CREDENTIAL_NAME,
  CREDENTIAL_NAME_HINT,
  FUNCTION_PREFIX,
  FUNCTION_PREFIX_HINT,
} from '../../../contract/domain.js';
import type { TokenView } from '../../../contract/schemas/credentials.js';
import { ApiError, getJson, request, sendJson, type FieldIssue } from '../api.js';
import {
  cardHead,
  clear,
  confirmDialog,
  dataTable,
  describeError,
  errorBox,
  field,
  fieldError,
  formatAgo,
  h,
  pageHeader,
  spinner,
  toast,
} from '../dom.js';

/** Tokens and access keys are listed alike. */
type CredentialView = TokenView;

const KINDS = {
  token: { label: 'Token', path: '/v1/tokens', list: 'tokens', secret: 'token', remove: 'Revoke' },
  key: {
    label: 'Access key',
    path: '/v1/access-keys',
    list: 'accessKeys',
    secret: 'secret',
    remove: 'Delete',
  },
} as const;
type Kind = keyof typeof KINDS;

const SCOPE_HELP =
  'admin: everything; deploy: functions, versions, aliases, stages, rollouts and invoking, no credentials; invoke: the data plane only';

/**
 * Credentials (admin only): create a token or an access-key pair with a scope and an optional function prefix
 * — its secret is shown here once — and list and revoke them.
 */
export function renderCredentials(main: HTMLElement, signal: AbortSignal): void {
  const lists = h('div', { class: 'stack' }, spinner('Loading credentials…'));
  const created = h('div', { testid: 'new-credential' });
  const kind = h(
    'select',
    { id: 'cred-kind', class: 'input', testid: 'cred-kind' },
    (Object.keys(KINDS) as Kind[]).map((k) => h('option', { value: k }, KINDS[k].label)),
  );
  const name = h('input', { id: 'cred-name', class: 'input', testid: 'cred-name', autocomplete: 'off' });
  const scope = h(
    'select',
    { id: 'cred-scope', class: 'input', testid: 'cred-scope' },
    ['invoke', 'deploy', 'admin'].map((s) => h('option', { value: s }, s)),
  );
  const prefix = h('input', {
    id: 'cred-prefix',
    class: 'input mono',
    testid: 'cred-prefix',
    autocomplete: 'off',
    placeholder: 'any function',
  });
  const nameError = fieldError('error-name');
  const prefixError = fieldError('error-functionPrefix');
  const formError = h('div', { class: 'field-error', testid: 'cred-error', role: 'alert' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'cred-create' }, 'Create');
  const form = h(
    'form',
    { class: 'card card-pad', novalidate: true },
    h('h2', null, 'New credential'),
    h(
      'div',
      { class: 'form-grid' },
      field('Kind', kind),
      field('Name', name, { required: true, hint: 'Histories record it beside the id', error: nameError }),
      field('Scope', scope, { hint: SCOPE_HELP }),
      field('Function prefix', prefix, {
        hint: 'Only functions whose names start with it',
        error: prefixError,
      }),
    ),
    formError,
    h('div', { class: 'form-actions' }, submit),
  );
  clear(
    main,
    pageHeader(
      'Credentials',
      'Bearer tokens and access-key pairs, each with a scope. A secret is shown once, when it is created; revoking one takes effect on every node within seconds.',
    ),
    form,
    created,
    lists,
  );

  const load = () => {
    Promise.all([
      getJson<{ tokens: CredentialView[] }>(KINDS.token.path, signal),
      getJson<{ accessKeys: CredentialView[] }>(KINDS.key.path, signal),
    ])
      .then(([{ tokens }, { accessKeys }]) => {
        if (signal.aborted) return;
        clear(lists, listCard('token', tokens, load), listCard('key', accessKeys, load));
      })
      .catch((error: unknown) => {
        if (!signal.aborted) clear(lists, errorBox(error, load));
      });
  };

  /** The server's rules for a name and a prefix, checked before it is asked. */
  const issuesOf = (): FieldIssue[] => {
    const issues: FieldIssue[] = [];
    const given = name.value.trim();
    if (given === '') issues.push({ path: 'name', message: 'Enter a name' });
    else if (!CREDENTIAL_NAME.test(given))
      issues.push({ path: 'name', message: `The name ${CREDENTIAL_NAME_HINT}` });
    const limit = prefix.value.trim();
    if (limit !== '' && !FUNCTION_PREFIX.test(limit))
      issues.push({ path: 'functionPrefix', message: `The prefix ${FUNCTION_PREFIX_HINT}` });
    return issues;
  };
  const showIssues = (issues: readonly FieldIssue[]) => {
    nameError.set(issues.find((i) => i.path === 'name')?.message);
    prefixError.set(issues.find((i) => i.path === 'functionPrefix')?.message);
  };
  // Once a create was refused, each message goes as soon as its field is right.
  let attempted = false;
  form.addEventListener('input', () => {
    if (attempted) showIssues(issuesOf());
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formError);
    attempted = true;
    const issues = issuesOf();
    showIssues(issues);
    if (issues.length > 0) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const chosen = KINDS[kind.value as Kind];
    const body = {
      name: name.value.trim(),
      scope: scope.value,
      ...(prefix.value.trim() !== '' && { functionPrefix: prefix.value.trim() }),
    };
    submit.disabled = true;
    sendJson<CredentialView & Record<string, string>>('POST', chosen.path, body)
      .then(({ body: made }) => {
        name.value = '';
        prefix.value = '';
        clear(
          created,
          h(
            'section',
            { class: 'card card-pad' },
            h('h2', null, `${chosen.label} ${made.name} created`),
            h(
              'p',
              null,
              `Copy the ${chosen.secret} now: it is shown this once, and the server cannot show it again.`,
            ),
            h('p', null, 'Id ', h('code', { testid: 'new-credential-id' }, made.id)),
            h('pre', { class: 'mono', testid: 'new-credential-secret' }, made[chosen.secret] ?? ''),
          ),
        );
        load();
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError) showIssues(error.issues);
        const info = describeError(error);
        clear(formError, `${info.title}: ${info.message}`);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  load();
}

function listCard(kind: Kind, items: readonly CredentialView[], reload: () => void): HTMLElement {
  const k = KINDS[kind];
  const remove = async (item: CredentialView) => {
    const ok = await confirmDialog({
      title: `${k.remove} ${item.name}?`,
      message: h('p', null, `Every client using ${item.name} (${item.id}) will be refused.`),
      confirm: k.remove,
      danger: true,
    });
    if (!ok) return;
    try {
      await request('DELETE', `${k.path}/${encodeURIComponent(item.id)}`);
      toast(`${item.name}: ${k.remove === 'Revoke' ? 'revoked' : 'deleted'}`);
    } catch (error) {
      toast(describeError(error).title, 'error');
    }
    reload();
  };
  return h(
    'section',
    { class: 'card', testid: `list-${kind}` },
    cardHead(`${k.label}s`, undefined),
    items.length === 0
      ? h('p', { class: 'muted card-pad-x' }, 'None.')
      : dataTable(
          ['Name', 'Id', 'Scope', 'Function prefix', 'Created', ''],
          items.map((item) =>
            h(
              'tr',
              { testid: `${kind}-${item.name}` },
              h('td', null, h('strong', null, item.name)),
              h('td', null, h('code', { class: 'small' }, item.id)),
              h('td', null, item.scope),
              h('td', null, item.functionPrefix ?? h('span', { class: 'muted' }, 'any')),
              h('td', { class: 'small' }, formatAgo(item.createdAt)),
              h(
                'td',
                null,
                h(
                  'button',
                  {
                    class: 'btn btn-ghost',
                    type: 'button',
                    testid: `remove-${kind}-${item.name}`,
                    onClick: () => void remove(item),
                  },
                  k.remove,
                ),
              ),
            ),
          ),
        ),
  );
}
