import { randomUUID } from 'node:crypto';
import type { AliasSpec } from '../core/alias.js';
import { isSluiceError, SluiceError } from '../core/errors.js';
import { formatVersionRef } from '../core/names.js';
import { rolloutChanged } from '../core/rollout-changes.js';
import {
  type Rollout,
  type RolloutEvent,
  type RolloutSpec,
  type RolloutStatus,
  assertActive,
  judgeStep,
} from '../core/rollout.js';
import { summarize } from '../metrics/aggregate.js';
import { addCounters, emptyCounters } from '../core/telemetry.js';
import type { Store } from '../store/store.js';

export interface RolloutDeps {
  store: Store;
  clock: () => Date;
  /** Tells every node's routing that the alias changed. */
  changed: (functionName: string) => Promise<void>;
  /** Invokes one version directly, for the pre-traffic check; resolves on success, rejects with the error. */
  invokeVersion: (functionName: string, version: number, payload: Buffer) => Promise<void>;
}

const actorOf = (rollout: Rollout) => `rollout:${rollout.id}`;

/**
 * Everything that changes a rollout: starting it, each step the controller takes, and the commands
 * (pause, resume, abort, promote). Each alias write names the revision the rollout last wrote, so a
 * change made by someone else ends the rollout instead of being overwritten; each turn looks for one first.
 */
export class RolloutEngine {
  constructor(private readonly deps: RolloutDeps) {}

  async start(functionName: string, alias: string, spec: RolloutSpec, actor: string): Promise<Rollout> {
    const current = await this.deps.store.getAlias(functionName, alias);
    if (!current) {
      if (!(await this.deps.store.getFunction(functionName))) {
        throw new SluiceError('FunctionNotFound', `function ${functionName} does not exist`);
      }
      throw new SluiceError('AliasNotFound', `function ${functionName} has no alias ${alias}`);
    }
    if (current.spec.version === spec.target) {
      throw new SluiceError(
        'InvalidArgument',
        `alias ${alias} already has version ${spec.target} as its primary`,
        [{ path: 'to', message: 'must differ from the alias primary version' }],
      );
    }
    const now = this.deps.clock().toISOString();
    const rollout: Rollout = {
      id: randomUUID(),
      functionName,
      alias,
      primary: current.spec.version,
      spec,
      status: 'running',
      step: -1,
      stepStartedAt: undefined,
      aliasRevision: current.revision,
      reason: undefined,
      events: [
        {
          at: now,
          kind: 'started',
          message: `${actor} started moving ${alias} from ${formatVersionRef(current.spec.version)} to ${spec.target} in ${spec.steps.length} steps (${spec.steps.map((s) => `${Math.round(s.weight * 10000) / 100} %`).join(', ')})`,
        },
      ],
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.store.createRollout(rollout);
    // Every node's controller sleeps while no rollout runs: the change wakes them.
    await this.deps.changed(functionName);
    return rollout;
  }

  /** One turn of the controller for a rollout this node holds the lease of. */
  async drive(rollout: Rollout): Promise<Rollout> {
    if (rollout.status !== 'running') return rollout;
    if (rollout.step === -1) return this.begin(rollout);
    // Found at once, not at the next step's write minutes later, during which the rollout would say it held a
    // share of traffic that the alias no longer gave it.
    if (await this.aliasChangedUnder(rollout)) return this.endByConflict(rollout);
    const window = await this.window(rollout);
    const verdict = judgeStep(rollout, window, this.deps.clock().getTime());
    if (verdict.action === 'rollback') {
      return this.finish(
        rollout,
        'rolled-back',
        'rolled-back',
        `guardrail breached: ${verdict.reason}`,
        verdict.figures,
      );
    }
    if (verdict.action === 'wait') return rollout;
    return this.moveTo(rollout, rollout.step + 1, verdict.reason);
  }

  private async begin(rollout: Rollout): Promise<Rollout> {
    if (rollout.spec.preTraffic) {
      try {
        await this.deps.invokeVersion(
          rollout.functionName,
          rollout.spec.target,
          Buffer.from(rollout.spec.preTraffic.payload),
        );
      } catch (error) {
        const why = isSluiceError(error) ? `${error.code}: ${error.message}` : String(error);
        return this.save(
          rollout,
          { status: 'failed', reason: `the pre-traffic check failed, no traffic moved (${why})` },
          {
            kind: 'failed',
            message: `pre-traffic check of version ${rollout.spec.target} failed: ${why}`,
          },
        );
      }
    }
    return this.moveTo(rollout, 0, rollout.spec.preTraffic ? 'the pre-traffic check passed' : 'started');
  }

  /** Sets the canary weight of a step; the last step, at 100 %, makes the target the primary. */
  private async moveTo(rollout: Rollout, step: number, why: string): Promise<Rollout> {
    const weight = rollout.spec.steps[step]?.weight ?? 1;
    if (weight >= 1)
      return this.finish(
        rollout,
        'succeeded',
        'promoted',
        `every step passed (${why}): version ${rollout.spec.target} takes all traffic`,
      );
    const spec: AliasSpec = {
      version: rollout.primary,
      description: '',
      canary: { version: rollout.spec.target, weight },
    };
    return this.saveWithAlias(
      rollout,
      spec,
      { step, stepStartedAt: this.deps.clock().toISOString() },
      {
        kind: 'step',
        message: `step ${step + 1}/${rollout.spec.steps.length}: ${Math.round(weight * 10000) / 100} % to version ${rollout.spec.target} (${why})`,
      },
    );
  }

  /** Ends a rollout: the target becomes the primary, or the alias returns to all-primary. */
  private async finish(
    rollout: Rollout,
    status: RolloutStatus,
    kind: RolloutEvent['kind'],
    reason: string,
    figures?: Record<string, number | null>,
  ): Promise<Rollout> {
    const spec: AliasSpec =
      status === 'succeeded'
        ? { version: rollout.spec.target, description: '' }
        : { version: rollout.primary, description: '' };
    return this.saveWithAlias(
      rollout,
      spec,
      { status, reason },
      { kind, message: reason, ...(figures && { figures }) },
    );
  }

  /** Whether someone other than the rollout wrote its alias (a rollback from the console, a `sluice alias set`). */
  private async aliasChangedUnder(rollout: Rollout): Promise<boolean> {
    if (rollout.aliasRevision === undefined) return false;
    const alias = await this.deps.store.getAlias(rollout.functionName, rollout.alias);
    return alias?.revision !== rollout.aliasRevision;
  }

  private async endByConflict(rollout: Rollout): Promise<Rollout> {
    const reason = `alias ${rollout.alias} was changed by someone else; the rollout stopped and left it as it is`;
    return this.save(rollout, { status: 'aborted', reason }, { kind: 'aborted', message: reason });
  }

  /**
   * Moves the alias and records the move in the rollout in one transaction, as the rollout's actor and from
   * the revision the rollout last wrote: a change made by someone else ends the rollout instead of being
   * overwritten, and a node that dies between the two leaves neither, for the next lease holder to redo.
   */
  private async saveWithAlias(
    rollout: Rollout,
    spec: AliasSpec,
    changes: Partial<Rollout>,
    event: Omit<RolloutEvent, 'at'>,
  ): Promise<Rollout> {
    const next = this.next(rollout, changes, event);
    let saved: Rollout;
    try {
      ({ rollout: saved } = await this.deps.store.saveRolloutAndAlias(next, rollout.updatedAt, spec, {
        actor: actorOf(rollout),
        now: next.updatedAt,
        ...(rollout.aliasRevision !== undefined && { expectedRevision: rollout.aliasRevision }),
      }));
    } catch (error) {
      if (isSluiceError(error) && error.code === 'AliasConflict') return this.endByConflict(rollout);
      throw error;
    }
    await this.deps.changed(rollout.functionName);
    return saved;
  }

  private async save(
    rollout: Rollout,
    changes: Partial<Rollout>,
    event: Omit<RolloutEvent, 'at'>,
  ): Promise<Rollout> {
    const next = this.next(rollout, changes, event);
    if (!(await this.deps.store.saveRollout(next, rollout.updatedAt))) throw rolloutChanged(rollout.id);
    return next;
  }

  /** The rollout with its changes and the event, stamped with a time that differs from its last save's. */
  private next(rollout: Rollout, changes: Partial<Rollout>, event: Omit<RolloutEvent, 'at'>): Rollout {
    const now = this.deps.clock().toISOString();
    const next: Rollout = {
      ...rollout,
      ...changes,
      events: [...rollout.events, { at: now, ...event }],
      updatedAt: now,
    };
    if (next.updatedAt === rollout.updatedAt) next.updatedAt = new Date(Date.parse(now) + 1).toISOString();
    return next;
  }

  /** The target's and the primary's figures through this alias since the step began, from every node. */
  private async window(rollout: Rollout) {
    const since = Math.floor(Date.parse(rollout.stepStartedAt ?? rollout.createdAt) / 1000);
    const now = Math.ceil(this.deps.clock().getTime() / 1000);
    const rows = await this.deps.store.queryMetrics(rollout.functionName, 10, since - (since % 10), now + 1);
    const target = emptyCounters();
    const primary = { invocations: 0, errors: 0 };
    const targetId = String(rollout.spec.target);
    const primaryId = rollout.primary === '$LATEST' ? 'LATEST' : String(rollout.primary);
    for (const row of rows) {
      if (row.qualifier !== rollout.alias) continue;
      if (row.versionId === targetId) {
        addCounters(target, row);
      } else if (row.versionId === primaryId) {
        primary.invocations += row.invocations;
        primary.errors += row.functionErrors + row.platformErrors;
      }
    }
    const summary = summarize(target);
    return {
      target: {
        invocations: target.invocations,
        errors: target.functionErrors + target.platformErrors,
        platformErrors: target.platformErrors,
        p99Ms: summary.p99Ms,
      },
      primary,
    };
  }

  async pause(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.require(id);
    if (rollout.status !== 'running')
      throw new SluiceError('RolloutNotActive', `rollout ${id} is ${rollout.status}, not running`);
    return this.save(
      rollout,
      { status: 'paused' },
      { kind: 'paused', message: `${actor} paused the rollout` },
    );
  }

  async resume(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.require(id);
    if (rollout.status !== 'paused')
      throw new SluiceError('RolloutNotActive', `rollout ${id} is ${rollout.status}, not paused`);
    // The step starts afresh: what happened while paused does not count toward it.
    const resumed = await this.save(
      rollout,
      { status: 'running', ...(rollout.step >= 0 && { stepStartedAt: this.deps.clock().toISOString() }) },
      { kind: 'resumed', message: `${actor} resumed the rollout` },
    );
    await this.deps.changed(rollout.functionName);
    return resumed;
  }

  async abort(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.require(id);
    assertActive(rollout);
    return this.finish(
      rollout,
      'aborted',
      'aborted',
      `${actor} aborted the rollout: all traffic back to ${formatVersionRef(rollout.primary)}`,
    );
  }

  async promote(id: string, actor: string): Promise<Rollout> {
    const rollout = await this.require(id);
    assertActive(rollout);
    return this.finish(
      rollout,
      'succeeded',
      'promoted',
      `${actor} promoted version ${rollout.spec.target} at once`,
    );
  }

  async require(id: string): Promise<Rollout> {
    const rollout = await this.deps.store.getRollout(id);
    if (!rollout) throw new SluiceError('RolloutNotFound', `no rollout has the id ${id}`);
    return rollout;
  }
}
