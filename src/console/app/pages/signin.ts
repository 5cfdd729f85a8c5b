import { ApiError, request, setToken } from '../api.js';
import { describeError, h } from '../dom.js';

/** The sign-in screen: a token, checked against the API before it is kept (sessionStorage only). */
export function renderSignIn(message: string | undefined, done: () => void): HTMLElement {
  const input = h('input', {
    id: 'token',
    type: 'password',
    class: 'input',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'Paste a Sluice API token',
    testid: 'token-input',
    autofocus: true,
  });
  const error = h(
    'div',
    { class: 'field-error', role: 'alert', testid: 'signin-error', hidden: !message },
    message ?? '',
  );
  const button = h(
    'button',
    { class: 'btn btn-primary btn-block', type: 'submit', testid: 'signin-button' },
    'Sign in',
  );
  const form = h(
    'form',
    { class: 'signin-card', novalidate: true },
    h(
      'div',
      { class: 'signin-brand' },
      h('img', { src: 'favicon.svg', alt: '', width: 36, height: 36 }),
      h('span', null, 'Sluice'),
    ),
    h('h1', null, 'Sign in to the console'),
    h(
      'p',
      { class: 'muted' },
      'The console calls the same ',
      h('code', null, '/v1'),
      ' API as the CLI, with your token. It is kept in this tab only and forgotten when the tab closes.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'API token'), input, error),
    h(
      'p',
      { class: 'hint' },
      'The admin token is written to ',
      h('code', null, '.sluice/admin-token'),
      ' in the server’s data directory when it first starts.',
    ),
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Paste a token to sign in.';
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Checking…';
    request('GET', '/v1/functions?limit=1', { token })
      .then(() => {
        setToken(token);
        done();
      })
      .catch((err: unknown) => {
        const info = describeError(err);
        error.textContent =
          err instanceof ApiError && err.status === 401
            ? 'That token was refused by the server. Check it and try again.'
            : `${info.title}: ${info.message}`;
        error.hidden = false;
        button.disabled = false;
        button.textContent = 'Sign in';
        input.focus();
        input.select();
      });
  });
  return h('div', { class: 'signin' }, form);
}
