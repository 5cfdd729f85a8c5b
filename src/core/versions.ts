import { SluiceError } from './errors.js';
import { sameConfig } from './function-config.js';
import type { FunctionRecord, VersionRecord } from './model.js';

/**
 * Decides what publishing `$LATEST` creates. `lastVersion` is the newest published version still present;
 * `highestEverIssued` is the largest number ever given to this function name, deleted versions included,
 * so that numbers are never reused.
 */
export function planPublish(
  latest: FunctionRecord,
  lastVersion: VersionRecord | undefined,
  highestEverIssued: number,
  description: string,
  now: string,
): VersionRecord {
  if (
    lastVersion &&
    lastVersion.code.sha256 === latest.code.sha256 &&
    sameConfig(lastVersion.config, latest.config)
  ) {
    throw new SluiceError(
      'NothingToPublish',
      `nothing changed in ${latest.name} since version ${lastVersion.version}: update its code or configuration first`,
      { latestVersion: String(lastVersion.version) },
    );
  }
  return {
    functionName: latest.name,
    version: highestEverIssued + 1,
    description,
    config: latest.config,
    code: latest.code,
    createdAt: now,
  };
}
