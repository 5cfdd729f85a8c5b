/**
 * The core's pure rules that clients apply themselves before they ask the server: names, rule conditions,
 * durations, configuration limits, code package checks, timer schedules. They are listed here so that what the CLI and the
 * console share with the server is one list, which `npm run lint` holds them to (.dependency-cruiser.js).
 */
export { parseAliasSpec } from '../core/alias.js';
export { METHODS, parseApiDefinition, routeKey, type RouteMethod } from '../core/api-gateway.js';
export { backoffDelay, type Backoff } from '../core/backoff.js';
export {
  checkCodeEntries,
  codeTooLargeError,
  DEFAULT_CODE_LIMITS,
  type CodeEntry,
} from '../core/code-package.js';
export {
  checkCondition,
  numericValue,
  parseInterval,
  SOURCES,
  type Condition,
  type Source,
} from '../core/conditions.js';
export {
  CREDENTIAL_NAME,
  CREDENTIAL_NAME_HINT,
  FUNCTION_PREFIX,
  FUNCTION_PREFIX_HINT,
} from '../core/credentials.js';
export { dataPlaneBase, type DataPlaneAddress } from '../core/data-plane.js';
export { parseDuration, parseTimeAgo } from '../core/duration.js';
export { isSluiceError, type FieldIssue } from '../core/errors.js';
export {
  CONFIG_FIELDS,
  CONFIG_LIMITS,
  CONVENTIONS,
  NETWORK_MODES,
  RUNTIMES,
} from '../core/function-config.js';
export type { IsolationReport } from '../core/isolation.js';
export {
  ALIAS_NAME,
  ALIAS_NAME_HINT,
  assertAliasName,
  DEFAULT_ALIAS,
  LATEST,
  FUNCTION_NAME,
  FUNCTION_NAME_HINT,
  isAliasName,
} from '../core/names.js';
export { parseRolloutRequest, type RolloutStep } from '../core/rollout.js';
export { parseSchedule } from '../core/schedule.js';
export { MAX_TIMER_PAYLOAD_BYTES, TRIGGER_NAME } from '../core/triggers.js';
export { Issues } from '../core/validate.js';
