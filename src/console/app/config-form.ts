import { CONFIG_LIMITS, CONVENTIONS, NETWORK_MODES, RUNTIMES } from '../../contract/domain.js';
import type { FieldIssue, FunctionConfig } from './api.js';
import { field, fieldError, h, removeRowButton } from './dom.js';

const HANDLER = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z_$][A-Za-z0-9_$]*$/;
const CSHARP_HANDLER =
  /^[A-Za-z_][A-Za-z0-9_.-]*::[A-Za-z_][A-Za-z0-9_]*(?:[.+][A-Za-z_][A-Za-z0-9_]*)*::[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = /^(SLUICE_|FC_)/;
const MEMORY_CHOICES = [128, 256, 512, 1024, 2048, 4096];

export const RUNTIME_LABELS: Record<string, string> = {
  nodejs20: 'Node.js 20',
  python3: 'Python 3',
  'php8.2': 'PHP 8.2',
  csharp: 'C# (Mono)',
  custom: 'Custom (an executable bootstrap serving HTTP)',
};
const NETWORK_LABELS: Record<string, string> = {
  host: "Host: the host's network, its loopback services included",
  none: 'None: a loopback of its own only',
};
const CONVENTION_LABELS: Record<string, string> = {
  fc: 'Function Compute: the event as bytes',
  scf: "Tencent SCF: the event parsed from JSON, with SCF's context",
};

type ErrorEl = ReturnType<typeof fieldError>;

export interface ConfigForm {
  element: HTMLElement;
  /** The configuration as entered, with every problem found; `config` only when there are none. */
  read(): { config?: FunctionConfig; issues: FieldIssue[] };
  showIssues(issues: readonly FieldIssue[]): void;
  onRuntimeChange(fn: (runtime: string) => void): void;
}

/** The fields of a function's configuration: runtime, handler, memory, timeout, concurrency, env, description. */
export function configForm(initial: FunctionConfig, options: { readOnly?: boolean } = {}): ConfigForm {
  const ro = options.readOnly === true;
  const errors = new Map<string, ErrorEl>();
  const err = (path: string) => {
    const el = fieldError(`error-${path}`);
    errors.set(path, el);
    return el;
  };
  const runtime = h(
    'select',
    { id: 'cfg-runtime', class: 'input', testid: 'fn-runtime', disabled: ro },
    RUNTIMES.map((r) => h('option', { value: r, selected: r === initial.runtime }, RUNTIME_LABELS[r] ?? r)),
  );
  const handler = h('input', {
    id: 'cfg-handler',
    class: 'input mono',
    testid: 'fn-handler',
    value: initial.handler,
    readonly: ro,
    spellcheck: 'false',
  });
  const memory = h('input', {
    id: 'cfg-memory',
    class: 'input',
    type: 'number',
    min: CONFIG_LIMITS.memorySize.min,
    max: CONFIG_LIMITS.memorySize.max,
    step: CONFIG_LIMITS.memorySize.multipleOf,
    list: 'memory-choices',
    testid: 'fn-memory',
    value: String(initial.memorySize),
    readonly: ro,
  });
  const memoryChoices = h(
    'datalist',
    { id: 'memory-choices' },
    MEMORY_CHOICES.map((m) => h('option', { value: String(m) })),
  );
  const timeout = h('input', {
    id: 'cfg-timeout',
    class: 'input',
    type: 'number',
    min: CONFIG_LIMITS.timeout.min,
    max: CONFIG_LIMITS.timeout.max,
    testid: 'fn-timeout',
    value: String(initial.timeout),
    readonly: ro,
  });
  const concurrency = h('input', {
    id: 'cfg-concurrency',
    class: 'input',
    type: 'number',
    min: CONFIG_LIMITS.instanceConcurrency.min,
    max: CONFIG_LIMITS.instanceConcurrency.max,
    testid: 'fn-concurrency',
    value: String(initial.instanceConcurrency),
    readonly: ro,
  });
  const network = h(
    'select',
    { id: 'cfg-network', class: 'input', testid: 'fn-network', disabled: ro },
    NETWORK_MODES.map((n) =>
      h('option', { value: n, selected: n === initial.network }, NETWORK_LABELS[n] ?? n),
    ),
  );
  const convention = h(
    'select',
    { id: 'cfg-convention', class: 'input', testid: 'fn-convention', disabled: ro },
    CONVENTIONS.map((c) =>
      h('option', { value: c, selected: c === initial.convention }, CONVENTION_LABELS[c] ?? c),
    ),
  );
  const description = h('input', {
    id: 'cfg-description',
    class: 'input',
    testid: 'fn-description',
    maxlength: CONFIG_LIMITS.descriptionLength,
    value: initial.description,
    readonly: ro,
    placeholder: ro ? '' : 'What this function does',
  });

  const envRows = h('div', { class: 'env-rows', testid: 'env-rows' });
  const envError = err('environmentVariables');
  const addEnvRow = (name = '', value = '') => {
    const nameInput = h('input', {
      class: 'input mono',
      placeholder: 'NAME',
      'aria-label': 'Variable name',
      testid: 'env-name',
      value: name,
      readonly: ro,
      spellcheck: 'false',
    });
    const valueInput = h('input', {
      class: 'input mono',
      placeholder: 'value',
      'aria-label': 'Variable value',
      testid: 'env-value',
      value,
      readonly: ro,
      spellcheck: 'false',
    });
    const row = h(
      'div',
      { class: 'env-row' },
      nameInput,
      valueInput,
      !ro &&
        removeRowButton('Remove variable', undefined, () => {
          row.remove();
        }),
    );
    envRows.append(row);
    return nameInput;
  };
  for (const [k, v] of Object.entries(initial.environmentVariables)) addEnvRow(k, v);
  if (ro && Object.keys(initial.environmentVariables).length === 0)
    envRows.append(h('div', { class: 'muted small' }, 'No environment variables.'));

  const element = h(
    'div',
    { class: 'form-grid' },
    field('Runtime', runtime, { error: err('runtime'), required: true }),
    field('Handler', handler, {
      error: err('handler'),
      hint: 'FILE.FUNCTION, e.g. index.handler; in C#, Assembly::Namespace.Class::Method',
      required: true,
    }),
    field('Memory (MB)', memory, {
      error: err('memorySize'),
      hint: `${CONFIG_LIMITS.memorySize.min}–${CONFIG_LIMITS.memorySize.max}, steps of 64`,
    }),
    field('Timeout (s)', timeout, {
      error: err('timeout'),
      hint: `${CONFIG_LIMITS.timeout.min}–${CONFIG_LIMITS.timeout.max}`,
    }),
    field('Instance concurrency', concurrency, {
      error: err('instanceConcurrency'),
      hint: 'Requests one instance serves at once',
    }),
    field('Network', network, { error: err('network'), hint: 'What the function can connect to' }),
    field('Handler convention', convention, {
      error: err('convention'),
      hint: 'How the handler is called: its event and its context',
    }),
    field('Description', description, { error: err('description') }),
    memoryChoices,
    h(
      'div',
      { class: 'field span-2' },
      h('label', null, 'Environment variables'),
      envRows,
      !ro &&
        h(
          'button',
          {
            class: 'btn btn-small',
            type: 'button',
            testid: 'add-env',
            onClick: () => {
              addEnvRow().focus();
            },
          },
          '+ Add variable',
        ),
      envError,
    ),
  );

  const integer = (
    input: HTMLInputElement,
    path: string,
    range: { min: number; max: number; multipleOf?: number },
    issues: FieldIssue[],
  ) => {
    const text = input.value.trim();
    const n = Number(text);
    if (!/^\d+$/.test(text)) issues.push({ path, message: 'Enter a whole number' });
    else if (n < range.min || n > range.max)
      issues.push({ path, message: `Must be between ${range.min} and ${range.max}` });
    else if (range.multipleOf && n % range.multipleOf !== 0)
      issues.push({ path, message: `Must be a multiple of ${range.multipleOf}` });
    return n;
  };

  return {
    element,
    read() {
      const issues: FieldIssue[] = [];
      if (runtime.value === 'csharp' && !CSHARP_HANDLER.test(handler.value.trim()))
        issues.push({
          path: 'handler',
          message: 'Enter Assembly::Namespace.Class::Method, for example Desktop::Desktop.App::Handler',
        });
      else if (runtime.value !== 'csharp' && !HANDLER.test(handler.value.trim()))
        issues.push({
          path: 'handler',
          message: 'Enter FILE.FUNCTION, for example index.handler (a path inside the package, no "..")',
        });
      const memorySize = integer(memory, 'memorySize', CONFIG_LIMITS.memorySize, issues);
      const timeoutValue = integer(timeout, 'timeout', CONFIG_LIMITS.timeout, issues);
      const instanceConcurrency = integer(
        concurrency,
        'instanceConcurrency',
        CONFIG_LIMITS.instanceConcurrency,
        issues,
      );
      const env: Record<string, string> = {};
      let bytes = 0;
      const encoder = new TextEncoder();
      for (const row of envRows.querySelectorAll('.env-row')) {
        const [nameInput, valueInput] = row.querySelectorAll('input');
        const name = nameInput?.value.trim() ?? '';
        const value = valueInput?.value ?? '';
        if (name === '' && value === '') continue;
        if (!ENV_NAME.test(name))
          issues.push({
            path: 'environmentVariables',
            message: `“${name}” is not a valid variable name (letters, digits, underscores)`,
          });
        else if (RESERVED_ENV.test(name))
          issues.push({
            path: 'environmentVariables',
            message: `${name} is reserved for the platform (SLUICE_*, FC_*)`,
          });
        else if (name in env) issues.push({ path: 'environmentVariables', message: `${name} is set twice` });
        else env[name] = value;
        bytes += encoder.encode(name).length + encoder.encode(value).length;
      }
      if (bytes > CONFIG_LIMITS.environmentBytes)
        issues.push({
          path: 'environmentVariables',
          message: `Names and values total ${bytes} bytes; at most ${CONFIG_LIMITS.environmentBytes}`,
        });
      const config: FunctionConfig = {
        // The selects offer RUNTIMES, NETWORK_MODES and CONVENTIONS only.
        runtime: runtime.value as FunctionConfig['runtime'],
        handler: handler.value.trim(),
        memorySize,
        timeout: timeoutValue,
        instanceConcurrency,
        environmentVariables: env,
        description: description.value,
        network: network.value as FunctionConfig['network'],
        convention: convention.value as FunctionConfig['convention'],
      };
      return issues.length ? { issues } : { config, issues };
    },
    showIssues(issues) {
      for (const [path, el] of errors) {
        const mine = issues.filter((i) => i.path === path || i.path.startsWith(`${path}.`));
        el.set(mine.length ? mine.map((i) => i.message).join('; ') : undefined);
      }
    },
    onRuntimeChange(fn) {
      runtime.addEventListener('change', () => {
        fn(runtime.value);
      });
    },
  };
}
