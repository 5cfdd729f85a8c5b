import { SluiceError } from './errors.js';

export const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
export const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const VERSION_ID = /^[1-9][0-9]{0,15}$/;

export const LATEST = '$LATEST';
/** Function Compute's name for `$LATEST`: accepted wherever `$LATEST` is, and so never an alias's name. */
export const FC_LATEST = 'LATEST';
export const DEFAULT_ALIAS = '$DEFAULT';

export const FUNCTION_NAME_HINT =
  'must start with a letter or underscore and hold only letters, digits, underscores and hyphens (at most 64)';
export const ALIAS_NAME_HINT =
  'must start with a letter and hold only letters, digits, underscores and hyphens (at most 64)';

export function isFunctionName(name: string): boolean {
  return FUNCTION_NAME.test(name);
}

/**
 * `LATEST` in any case: an alias of that name would take `qualifier=LATEST` from `$LATEST`, and a lower-case
 * one would read as `$LATEST` to anyone who knows Function Compute.
 */
function isReservedAliasName(name: string): boolean {
  return name.toUpperCase() === FC_LATEST;
}

/** An alias a user may create: `$DEFAULT` exists already and is addressed by its own name. */
export function isAliasName(name: string): boolean {
  return (ALIAS_NAME.test(name) && !isReservedAliasName(name)) || name === DEFAULT_ALIAS;
}

/** A reference to code that can run: `$LATEST` or a published version number. */
export type VersionRef = typeof LATEST | number;

export function formatVersionRef(ref: VersionRef): string {
  return ref === LATEST ? LATEST : String(ref);
}

/**
 * A version id's number, or undefined. VERSION_ID admits 16 digits, more than a double holds exactly:
 * beyond Number.MAX_SAFE_INTEGER, "9007199254740993" would silently become version 9007199254740992.
 */
function versionNumber(text: string): number | undefined {
  if (!VERSION_ID.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses `$LATEST` (or `LATEST`) or a version id (`"1"`, `"42"`), or returns undefined. */
export function parseVersionRef(text: string): VersionRef | undefined {
  if (text === LATEST || text === FC_LATEST) return LATEST;
  return versionNumber(text);
}

/** What a caller named when invoking: `$LATEST`, a version, or an alias (`$DEFAULT` when nothing is named). */
export type Qualifier =
  { kind: 'latest' } | { kind: 'version'; version: number } | { kind: 'alias'; alias: string };

export function parseQualifier(text: string | undefined): Qualifier {
  if (text === undefined || text === '') return { kind: 'alias', alias: DEFAULT_ALIAS };
  if (text === LATEST || text === FC_LATEST) return { kind: 'latest' };
  const version = versionNumber(text);
  if (version !== undefined) return { kind: 'version', version };
  if (isAliasName(text)) return { kind: 'alias', alias: text };
  if (isReservedAliasName(text)) {
    throw new SluiceError(
      'InvalidArgument',
      `qualifier "${text}" names no alias: for the latest code write ${FC_LATEST} or ${LATEST}`,
      [{ path: 'qualifier', message: `must be ${FC_LATEST} or ${LATEST} for the latest code` }],
    );
  }
  throw new SluiceError(
    'InvalidArgument',
    `qualifier "${text}" is neither $LATEST, a version number nor an alias name`,
    [{ path: 'qualifier', message: 'must be $LATEST, a version number or an alias name' }],
  );
}

export function assertFunctionName(name: string): void {
  if (!isFunctionName(name)) {
    throw new SluiceError('InvalidArgument', `function name "${name}" ${FUNCTION_NAME_HINT}`, [
      { path: 'name', message: FUNCTION_NAME_HINT },
    ]);
  }
}

export function assertAliasName(name: string): void {
  if (isReservedAliasName(name)) {
    throw new SluiceError(
      'InvalidArgument',
      `alias name "${name}" is reserved: ${FC_LATEST} is Function Compute's name for ${LATEST}`,
      [{ path: 'name', message: `must not be ${FC_LATEST} in any case` }],
    );
  }
  if (!isAliasName(name)) {
    throw new SluiceError('InvalidArgument', `alias name "${name}" ${ALIAS_NAME_HINT}`, [
      { path: 'name', message: ALIAS_NAME_HINT },
    ]);
  }
}

export function assertVersionId(text: string): number {
  const version = versionNumber(text);
  if (version === undefined) {
    throw new SluiceError('InvalidArgument', `version "${text}" is not a version number`, [
      { path: 'version', message: 'must be a positive integer without leading zeros' },
    ]);
  }
  return version;
}
