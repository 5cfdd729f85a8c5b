import { MAX_TIMER_PAYLOAD_BYTES, parseSchedule, TRIGGER_NAME } from '../../contract/domain.js';
import {
  enc,
  fnPath,
  sendJson,
  type AliasView,
  type FieldIssue,
  type TriggerView,
  type VersionView,
} from './api.js';
import { editorFooter, field, h, overlay, submitsForm, toast } from './dom.js';
import { FormErrors } from './form-errors.js';
import { qualifierOptions } from './qualifier-options.js';

const SCHEDULE_EXAMPLES = ['@every 30s', '@every 5m', '@hourly', '@daily', '0 3 * * *', '*/15 * * * 1-5'];

/** A timer's fields as typed. */
interface TimerForm {
  name: string;
  schedule: string;
  qualifier: string;
  payload: string;
  description: string;
  enabled: boolean;
}

/** Every problem of a timer the server would refuse, under the paths it gives (`schedule`, `payload` …). */
export function timerIssues(form: TimerForm, creating: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (creating && !TRIGGER_NAME.test(form.name))
    issues.push({
      path: 'name',
      message: 'Starts with a letter; letters, digits, _ and - (at most 64)',
    });
  const schedule = parseSchedule(form.schedule);
  if (typeof schedule === 'string') issues.push({ path: 'schedule', message: `The schedule ${schedule}` });
  if (new TextEncoder().encode(form.payload).length > MAX_TIMER_PAYLOAD_BYTES)
    issues.push({ path: 'payload', message: `At most ${MAX_TIMER_PAYLOAD_BYTES / 1024} KB` });
  if (form.description.length > 256) issues.push({ path: 'description', message: 'At most 256 characters' });
  return issues;
}

/** A trigger as the API takes it back (`PUT`): every field of its kind, the name aside. */
export function triggerBody(t: TriggerView): Record<string, unknown> {
  const common = { kind: t.kind, qualifier: t.qualifier, enabled: t.enabled, description: t.description };
  return t.kind === 'timer'
    ? { ...common, schedule: t.schedule, payload: t.payload }
    : {
        ...common,
        broker: t.broker,
        url: t.url,
        stream: t.stream,
        subject: t.subject,
        concurrency: t.concurrency,
      };
}

/**
 * The timer panel: a new timer's name, its schedule (cron in UTC or `@every`), the qualifier it invokes
 * (chosen from the function's aliases and versions), the payload its event carries, and whether it is on.
 * Problems show under their fields, as typed once a save was tried; nothing is sent until there are none.
 */
export function openTimerEditor(options: {
  functionName: string;
  aliases: readonly AliasView[];
  versions: readonly VersionView[];
  trigger: TriggerView | undefined;
  saved: () => void;
}): void {
  const { trigger } = options;
  const form: TimerForm = {
    name: trigger?.name ?? '',
    schedule: trigger?.schedule ?? '',
    qualifier: trigger?.qualifier === 'LATEST' ? '$LATEST' : (trigger?.qualifier ?? '$DEFAULT'),
    payload: trigger?.payload ?? '',
    description: trigger?.description ?? '',
    enabled: trigger?.enabled ?? true,
  };
  const dlg = overlay({
    title: trigger ? `Edit timer ${trigger.name}` : 'Create timer trigger',
    kind: 'drawer',
    testid: 'trigger-editor',
  });
  const errors = new FormErrors('trigger-form-error');
  let attempted = false;
  const changed = () => {
    if (attempted) errors.show(timerIssues(form, !trigger));
  };
  const text = (key: 'name' | 'schedule' | 'description', attrs: Record<string, unknown>) => {
    const input = h('input', {
      id: `trigger-${key}`,
      class: 'input',
      testid: `trigger-${key}`,
      value: form[key],
      autocomplete: 'off',
      spellcheck: 'false',
      ...attrs,
    });
    input.addEventListener('input', () => {
      form[key] = key === 'description' ? input.value : input.value.trim();
      changed();
    });
    return input;
  };
  const name = text('name', { readonly: trigger !== undefined, placeholder: 'nightly', autofocus: !trigger });
  const schedule = text('schedule', {
    class: 'input mono',
    placeholder: '@every 30s',
    list: 'schedule-examples',
    autofocus: trigger !== undefined,
  });
  const description = text('description', { maxlength: 256 });
  const qualifier = h(
    'select',
    { id: 'trigger-qualifier', class: 'input', testid: 'trigger-qualifier' },
    qualifierOptions(
      {
        aliases: options.aliases.map((a) => a.name).filter((a) => a !== '$DEFAULT'),
        versions: options.versions.map((v) => v.versionId).reverse(),
      },
      form.qualifier,
    ),
  );
  qualifier.addEventListener('change', () => {
    form.qualifier = qualifier.value;
    changed();
  });
  const payload = h('textarea', {
    id: 'trigger-payload',
    class: 'input mono',
    testid: 'trigger-payload',
    rows: 4,
    spellcheck: 'false',
    placeholder: '{"job": "sweep"}',
  });
  payload.value = form.payload;
  payload.addEventListener('input', () => {
    form.payload = payload.value;
    changed();
  });
  const enabled = h('input', { type: 'checkbox', testid: 'trigger-enabled', checked: form.enabled });
  enabled.addEventListener('change', () => {
    form.enabled = enabled.checked;
  });

  const save = h(
    'button',
    { class: 'btn btn-primary', type: 'button', testid: 'trigger-save' },
    trigger ? 'Save' : 'Create',
  );
  const formEl = h(
    'form',
    { class: 'stack', novalidate: true },
    field('Trigger name', name, {
      error: errors.at('name'),
      hint: trigger ? 'Triggers cannot be renamed.' : 'Starts with a letter; letters, digits, _ and -.',
      required: true,
    }),
    field('Schedule', schedule, {
      error: errors.at('schedule'),
      hint: 'A cron expression in UTC (minute hour day-of-month month day-of-week), @every 30s, or @hourly, @daily, @weekly, @monthly.',
      required: true,
    }),
    h(
      'datalist',
      { id: 'schedule-examples' },
      SCHEDULE_EXAMPLES.map((e) => h('option', { value: e })),
    ),
    field('Qualifier', qualifier, {
      error: errors.at('qualifier'),
      hint: 'Usually an alias: a release moves the alias, and the timer’s invocations move with it.',
    }),
    field('Payload', payload, {
      error: errors.at('payload'),
      hint: 'Given to the handler in its event: {"triggerTime", "triggerName", "payload"}. At most 64 KB.',
    }),
    field('Description', description, { error: errors.at('description') }),
    h('label', { class: 'toggle' }, enabled, ' Enabled (a disabled timer fires nothing)'),
    errors.banner,
  );
  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    attempted = true;
    const issues = timerIssues(form, !trigger);
    errors.show(issues);
    if (issues.length > 0) {
      errors.focusFirst(formEl);
      return;
    }
    save.disabled = true;
    const body = {
      kind: 'timer',
      schedule: form.schedule,
      qualifier: form.qualifier,
      payload: form.payload,
      description: form.description,
      enabled: form.enabled,
    };
    const base = `${fnPath(options.functionName)}/triggers`;
    const sent = trigger
      ? sendJson<TriggerView>('PUT', `${base}/${enc(trigger.name)}`, body)
      : sendJson<TriggerView>('POST', base, { name: form.name, ...body });
    sent
      .then(({ body: saved }) => {
        dlg.close();
        toast(`${trigger ? 'Saved' : 'Created'} timer ${saved.name}`);
        options.saved();
      })
      .catch((error: unknown) => {
        save.disabled = false;
        errors.showFailure(error, 'trigger-form-error', (refusal) =>
          refusal.code === 'TriggerAlreadyExists'
            ? [{ path: 'name', message: refusal.message }]
            : /^(Alias|Version)NotFound$/.test(refusal.code)
              ? [{ path: 'qualifier', message: refusal.message }]
              : undefined,
        );
      });
  });
  submitsForm(save, formEl);
  dlg.body.append(formEl);
  editorFooter(dlg, 'trigger', save);
}
