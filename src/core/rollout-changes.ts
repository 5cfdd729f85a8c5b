import { SluiceError } from './errors.js';
import type { Rollout } from './rollout.js';

/** One rollout at a time per alias. */
export function assertNoActiveRollout(active: readonly Rollout[], alias: string): void {
  const running = active.find((r) => r.alias === alias);
  if (running) {
    throw new SluiceError(
      'RolloutInProgress',
      `alias ${alias} has rollout ${running.id} ${running.status}; abort or finish it first`,
      {
        rollout: running.id,
      },
    );
  }
}

/** A version an active rollout moves traffic from or to cannot be deleted. */
export function assertNotInRollout(functionName: string, version: number, active: readonly Rollout[]): void {
  const users = active.filter((r) => r.spec.target === version || r.primary === version).map((r) => r.id);
  if (users.length > 0) {
    throw new SluiceError(
      'VersionInUse',
      `version ${version} of ${functionName} is in use by rollout ${users.join(', ')}`,
      {
        rollouts: users,
      },
    );
  }
}

/** A rollout saved by someone else since it was read: a command or another node's controller. */
export function rolloutChanged(id: string): SluiceError {
  return new SluiceError('RolloutNotActive', `rollout ${id} changed meanwhile; read it again`);
}
