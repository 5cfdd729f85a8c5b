import { enc, fnPath, sendJson, type AliasView, type RolloutView, type VersionView } from './api.js';
import { editorFooter, field, h, overlay, submitsForm, toast } from './dom.js';
import { FormErrors } from './form-errors.js';
import { buildRollout, DEFAULT_ROLLOUT_FORM, describePlan, type RolloutForm } from './rollout-form.js';

const STRATEGIES: { value: RolloutForm['strategy']; label: string; about: string }[] = [
  {
    value: 'canary',
    label: 'Canary',
    about: 'One share of the traffic for one interval, then all of it.',
  },
  {
    value: 'linear',
    label: 'Linear',
    about: 'The same increment more every interval, until all of it.',
  },
  {
    value: 'steps',
    label: 'Steps',
    about: 'Your own rising shares, each held for one interval, then all of it.',
  },
];

const input = (id: string, value: string, attrs: Record<string, unknown> = {}) =>
  h('input', { id, class: 'input', testid: id, value, autocomplete: 'off', spellcheck: 'false', ...attrs });

/**
 * The *Start rollout* panel: which alias and version, how the traffic moves (strategy, shares, interval),
 * what stops it (guardrails) and what the target must answer first, each field saying what it does. The plan
 * the request makes is shown as it is typed; nothing is sent until it is valid. Resolves with the rollout.
 */
export function openStartRollout(options: {
  functionName: string;
  aliases: AliasView[];
  versions: VersionView[];
  alias: string | undefined;
  started: (rollout: RolloutView) => void;
}): void {
  const dlg = overlay({ title: 'Start a rollout', kind: 'drawer', testid: 'rollout-editor' });
  const errors = new FormErrors('rollout-form-error');
  const versions = [...options.versions].reverse();
  const alias = h(
    'select',
    { id: 'rollout-alias', class: 'input', testid: 'rollout-alias' },
    options.aliases.map((a) =>
      h('option', { value: a.name, selected: a.name === options.alias }, `${a.name} → ${a.version}`),
    ),
  );
  const to = h('select', { id: 'rollout-to', class: 'input', testid: 'rollout-to' });
  const drawTargets = () => {
    const primary = options.aliases.find((a) => a.name === alias.value)?.version;
    const choices = versions.filter((v) => v.versionId !== primary);
    to.replaceChildren(
      h('option', { value: '' }, choices.length ? 'Choose a version' : 'No other published version'),
      ...choices.map((v, i) =>
        h(
          'option',
          { value: v.versionId, selected: i === 0 },
          `Version ${v.versionId}${v.description ? ` — ${v.description}` : ''}`,
        ),
      ),
    );
  };
  drawTargets();
  const d = DEFAULT_ROLLOUT_FORM;
  const strategyInputs = STRATEGIES.map((s) =>
    h('input', {
      type: 'radio',
      name: 'rollout-strategy',
      value: s.value,
      testid: `rollout-strategy-${s.value}`,
      checked: s.value === d.strategy,
    }),
  );
  const weight = input('rollout-weight', d.weightPercent, { inputmode: 'decimal' });
  const increment = input('rollout-increment', d.incrementPercent, { inputmode: 'decimal' });
  const steps = input('rollout-steps', d.stepsPercent, { class: 'input mono' });
  const interval = input('rollout-interval', d.interval, { class: 'input mono', placeholder: '5m' });
  const maxErrorRate = input('rollout-max-error-rate', d.maxErrorRatePercent, { inputmode: 'decimal' });
  const maxRatio = input('rollout-max-ratio', d.maxErrorRateRatio, {
    inputmode: 'decimal',
    placeholder: 'not set',
  });
  const maxP99 = input('rollout-max-p99', d.maxP99Ms, { inputmode: 'numeric', placeholder: 'not set' });
  const maxPlatform = input('rollout-max-platform', d.maxPlatformErrors, {
    inputmode: 'numeric',
    placeholder: 'not set',
  });
  const minInvocations = input('rollout-min-invocations', d.minInvocations, { inputmode: 'numeric' });
  const preTraffic = h('input', { id: 'rollout-pretraffic', type: 'checkbox', testid: 'rollout-pretraffic' });
  const payload = h(
    'textarea',
    { id: 'rollout-payload', class: 'input mono', rows: 3, testid: 'rollout-payload', spellcheck: 'false' },
    d.payload,
  );
  const plan = h('div', { class: 'plan', testid: 'rollout-plan', 'aria-live': 'polite' });

  const weightField = field('Canary share (%)', weight, {
    hint: 'The share of the alias’s traffic the target takes during the one interval, before it takes all.',
    error: errors.at('weight'),
  });
  const incrementField = field('Increment (%)', increment, {
    hint: 'How much more traffic the target takes every interval: 10 makes 10 %, 20 %, … 100 %.',
    error: errors.at('increment'),
  });
  const stepsField = field('Steps (%)', steps, {
    hint: 'Rising shares separated by commas, such as 5, 25, 50. A last step of 100 % is added.',
    error: errors.at('steps'),
  });

  const read = (): RolloutForm => ({
    to: to.value,
    strategy: (strategyInputs.find((r) => r.checked)?.value ?? 'canary') as RolloutForm['strategy'],
    weightPercent: weight.value,
    incrementPercent: increment.value,
    stepsPercent: steps.value,
    interval: interval.value,
    maxErrorRatePercent: maxErrorRate.value,
    maxErrorRateRatio: maxRatio.value,
    maxP99Ms: maxP99.value,
    maxPlatformErrors: maxPlatform.value,
    minInvocations: minInvocations.value,
    preTraffic: preTraffic.checked,
    payload: payload.value,
  });

  let attempted = false;
  /** Redraws what depends on the fields: the strategy's own field, the plan, and the errors once shown. */
  const update = () => {
    const form = read();
    weightField.hidden = form.strategy !== 'canary';
    incrementField.hidden = form.strategy !== 'linear';
    stepsField.hidden = form.strategy !== 'steps';
    payload.disabled = !form.preTraffic;
    const built = buildRollout(form);
    plan.textContent = built.steps.length
      ? `Plan: ${describePlan(built.steps)}. A breached guardrail sends all traffic back to ${options.aliases.find((a) => a.name === alias.value)?.version ?? 'the primary'} at once.`
      : 'Plan: fix the fields above to see the steps.';
    if (attempted) errors.show(built.issues);
    return built;
  };

  const save = h(
    'button',
    { class: 'btn btn-primary', type: 'button', testid: 'rollout-start' },
    'Start rollout',
  );
  const formEl = h(
    'form',
    { class: 'stack', novalidate: true },
    h(
      'div',
      { class: 'form-grid' },
      field('Alias', alias, {
        hint: 'The alias whose traffic moves. Its primary serves the rest until the last step.',
        required: true,
      }),
      field('Target version', to, {
        hint: 'The published version that takes the traffic step by step.',
        error: errors.at('to'),
        required: true,
      }),
    ),
    h(
      'fieldset',
      { class: 'inline-radios stacked' },
      h('legend', null, 'Strategy'),
      STRATEGIES.map((s, i) =>
        h(
          'label',
          null,
          strategyInputs[i],
          ' ',
          h('strong', null, s.label),
          h('span', { class: 'muted small' }, ` — ${s.about}`),
        ),
      ),
    ),
    h(
      'div',
      { class: 'form-grid' },
      weightField,
      incrementField,
      stepsField,
      field('Interval', interval, {
        hint: 'How long each step holds before the next: 30s, 5m, 1h (1 second to 7 days).',
        error: errors.at('interval'),
        required: true,
      }),
    ),
    h(
      'fieldset',
      { class: 'subsection' },
      h('legend', null, 'Guardrails'),
      h(
        'p',
        { class: 'hint' },
        'Judged on the target’s traffic through the alias during each step. Blank ones are not checked.',
      ),
      h(
        'div',
        { class: 'form-grid' },
        field('Max error rate (%)', maxErrorRate, {
          hint: 'Function and platform errors per invocation of the target.',
          error: errors.at('maxErrorRate'),
        }),
        field('Max ratio to the primary', maxRatio, {
          hint: 'The target’s error rate over the primary’s in the same step: 2 allows twice as many.',
          error: errors.at('maxErrorRateRatio'),
        }),
        field('Max p99 (ms)', maxP99, {
          hint: 'The target’s 99th-percentile duration.',
          error: errors.at('maxP99Ms'),
        }),
        field('Max platform errors', maxPlatform, {
          hint: 'Timeouts, out-of-memory and crashes of the target in a step.',
          error: errors.at('maxPlatformErrors'),
        }),
        field('Min invocations', minInvocations, {
          hint: 'No step passes, and no rate is judged, before the target has served this many in it.',
          error: errors.at('minInvocations'),
        }),
      ),
    ),
    h(
      'fieldset',
      { class: 'subsection' },
      h('legend', null, 'Pre-traffic check'),
      h(
        'label',
        { class: 'toggle' },
        preTraffic,
        ' Invoke the target with this payload before any traffic moves',
      ),
      field('Payload', payload, {
        hint: 'An error answer ends the rollout as failed, with no traffic moved.',
        error: errors.at('preTraffic.payload'),
      }),
    ),
    plan,
    errors.banner,
  );
  for (const el of [
    weight,
    increment,
    steps,
    interval,
    maxErrorRate,
    maxRatio,
    maxP99,
    maxPlatform,
    minInvocations,
    payload,
  ])
    el.addEventListener('input', update);
  for (const el of [to, preTraffic, ...strategyInputs]) el.addEventListener('change', update);
  alias.addEventListener('change', () => {
    drawTargets();
    update();
  });

  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    attempted = true;
    const { body } = update();
    if (!body) {
      errors.focusFirst(formEl);
      return;
    }
    save.disabled = true;
    save.textContent = 'Starting…';
    sendJson<RolloutView>(
      'POST',
      `${fnPath(options.functionName)}/aliases/${enc(alias.value)}/rollouts`,
      body,
    )
      .then(({ body: rollout }) => {
        dlg.close();
        toast(`Started rolling ${rollout.alias} out to version ${rollout.to}`);
        options.started(rollout);
      })
      .catch((error: unknown) => {
        save.disabled = false;
        save.textContent = 'Start rollout';
        errors.showFailure(error, 'rollout-form-error');
      });
  });
  submitsForm(save, formEl);
  dlg.body.append(formEl);
  editorFooter(dlg, 'rollout', save);
  update();
}
