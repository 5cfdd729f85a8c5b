import { ApiError, enc, fnPath, getJson, request, sendJson, type FieldIssue } from './api.js';
import { field, fieldError, h } from './dom.js';

/** A qualifier's provisioned instances, as far as the alias panel shows them. */
interface ProvisionedView {
  target: number;
  canaryRatio: number | 'weight';
  versions: { version: string; role: string; target: number; ready: number }[];
}

/** What the panel asks for: no provisioned instances, or a target with the canary's part. */
export type ProvisionedChoice = { target: number; canaryRatio: number | 'weight' } | undefined;

/**
 * Reads the Advanced fields: a blank target is none; otherwise a whole number from 0 to 1000, and the canary's
 * ratio as a percentage (0–100, two decimals at most) unless it follows the weight. Issues carry the paths the
 * server would give (`target`, `canaryRatio`).
 */
export function readProvisioned(
  targetText: string,
  ratioText: string,
  followWeight: boolean,
): { choice: ProvisionedChoice; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (targetText.trim() === '') return { choice: undefined, issues };
  const target = Number(targetText);
  if (!/^\s*\d+\s*$/.test(targetText) || target > 1000)
    issues.push({ path: 'target', message: 'Enter a whole number of instances from 0 to 1000' });
  let canaryRatio: number | 'weight' = 'weight';
  if (!followWeight) {
    const percent = Number(ratioText);
    if (ratioText.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100)
      issues.push({ path: 'canaryRatio', message: 'Enter the canary ratio as a percentage from 0 to 100' });
    else if (Math.abs(percent * 100 - Math.round(percent * 100)) > 1e-6)
      issues.push({ path: 'canaryRatio', message: 'At most two decimals (steps of 0.01 %)' });
    canaryRatio = Math.round(percent * 100) / 10_000;
  }
  return { choice: issues.length ? undefined : { target, canaryRatio }, issues };
}

/**
 * The alias panel's *Advanced* section (seed 001): the alias's provisioned instances and the canary release
 * ratio for them. It loads what is set, and saves after the alias itself.
 */
export function provisionedSection(functionName: string, aliasName: string | undefined) {
  const path = (alias: string) => `${fnPath(functionName)}/provisioned/${enc(alias)}`;
  const target = h('input', {
    id: 'provisioned-target',
    class: 'input',
    testid: 'provisioned-target',
    inputmode: 'numeric',
    placeholder: 'none',
  });
  const ratio = h('input', {
    id: 'provisioned-ratio',
    class: 'input',
    testid: 'provisioned-ratio',
    inputmode: 'decimal',
    value: '1',
  });
  const follow = h('input', { id: 'provisioned-follow', type: 'checkbox', testid: 'provisioned-follow' });
  const status = h('div', { class: 'hint', testid: 'provisioned-status' });
  const errors = { target: fieldError('error-target'), canaryRatio: fieldError('error-canaryRatio') };
  let existed = false;

  const sync = () => {
    ratio.disabled = follow.checked;
  };
  follow.addEventListener('change', sync);

  const element = h(
    'details',
    { class: 'subsection', testid: 'alias-advanced' },
    h('summary', null, 'Advanced'),
    field('Provisioned instances', target, {
      error: errors.target,
      hint: 'Kept started and warm for this alias on the whole platform. Leave blank for none.',
    }),
    field('Canary release ratio for provisioned instances (%)', ratio, {
      error: errors.canaryRatio,
      hint: 'The part of the provisioned instances given to the canary version when there is more than one; by default 1 %.',
    }),
    h('label', { class: 'toggle' }, follow, ' Follow the canary weight'),
    status,
  );

  if (aliasName !== undefined) {
    getJson<ProvisionedView>(path(aliasName)).then(
      (view) => {
        existed = true;
        target.value = String(view.target);
        follow.checked = view.canaryRatio === 'weight';
        if (view.canaryRatio !== 'weight') ratio.value = String(+(view.canaryRatio * 100).toFixed(2));
        status.textContent = view.versions
          .map((v) => `Version ${v.version} (${v.role}): ${v.ready} of ${v.target} ready`)
          .join(' · ');
        if (view.target > 0) element.open = true;
        sync();
      },
      (error: unknown) => {
        if (!(error instanceof ApiError && error.code === 'ProvisionedNotFound'))
          status.textContent = `Could not read the provisioned instances: ${String(error)}`;
      },
    );
  }

  const read = () => readProvisioned(target.value, ratio.value, follow.checked);
  return {
    element,
    /** The section's problems, shown under its fields. */
    validate(): FieldIssue[] {
      const { issues } = read();
      for (const [key, el] of Object.entries(errors)) el.set(issues.find((i) => i.path === key)?.message);
      if (issues.length) element.open = true;
      return issues;
    },
    /** Writes the choice for the alias (saved already): sets it, or releases what was set. */
    async save(alias: string): Promise<void> {
      const { choice } = read();
      if (choice) await sendJson('PUT', path(alias), choice);
      else if (existed) await request('DELETE', path(alias));
    },
  };
}
