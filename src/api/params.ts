import { SluiceError } from '../core/errors.js';
import { ALIAS_NAME, assertAliasName, assertFunctionName, assertVersionId } from '../core/names.js';
import type { ListOptions } from '../store/store.js';
import { type ApiRequest, type ApiResponse, changeBy, type HeaderParam } from './context.js';

export function functionParam(request: ApiRequest): string {
  const name = request.params.name ?? '';
  assertFunctionName(name);
  return name;
}

export function aliasParam(request: ApiRequest): string {
  const alias = request.params.alias ?? '';
  assertAliasName(alias);
  return alias;
}

/**
 * An alias to read or delete: also one whose name has been reserved since it was made (an alias named
 * `latest` from before `LATEST` meant `$LATEST`), so that it can be seen and removed.
 */
export function storedAliasParam(request: ApiRequest): string {
  const alias = request.params.alias ?? '';
  if (!ALIAS_NAME.test(alias)) assertAliasName(alias);
  return alias;
}

export function versionParam(request: ApiRequest): number {
  return assertVersionId(request.params.version ?? '');
}

/** `limit` for listings: 1..100, default 50. */
function limitParam(request: ApiRequest): number {
  const text = request.query.get('limit');
  if (text === null) return 50;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > 100) {
    throw new SluiceError('InvalidArgument', `limit must be an integer from 1 to 100, not "${text}"`, [
      { path: 'limit', message: 'must be an integer from 1 to 100' },
    ]);
  }
  return limit;
}

/** A listing's page: its `limit`, and the `nextToken` that the page before it answered, if any. */
export function pageParams(request: ApiRequest): ListOptions {
  const nextToken = optionalQuery(request, 'nextToken');
  return { limit: limitParam(request), ...(nextToken !== undefined && { nextToken }) };
}

export function optionalQuery(request: ApiRequest, key: string): string | undefined {
  return request.query.get(key) ?? undefined;
}

/** Refuses query parameters an endpoint does not know, so that a typo is an error rather than ignored. */
export function checkQuery(request: ApiRequest, known: readonly string[]): void {
  for (const key of request.query.keys()) {
    if (!known.includes(key)) {
      throw new SluiceError('InvalidArgument', `unknown query parameter "${key}"`, [
        {
          path: key,
          message: `is not a known parameter${known.length ? ` (known: ${known.join(', ')})` : ''}`,
        },
      ]);
    }
  }
}

/** The preconditions an alias or stage write takes, as the OpenAPI document describes them. */
export const IF_MATCH: HeaderParam = {
  name: 'If-Match',
  description:
    'the revision the writer last read ("3", as the ETag gives it): refused with a conflict (409) if it is no longer current',
};
export const IF_NONE_MATCH: HeaderParam = {
  name: 'If-None-Match',
  description: '* creates only: refused (409, …AlreadyExists) if it exists already, and nothing changes',
};

/** The revision an `If-Match` header names (`"3"`, `3` or `W/"3"`), or undefined without one. */
export function ifMatchRevision(request: ApiRequest): number | undefined {
  const header = request.req.headers['if-match'];
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!match) {
    throw new SluiceError('InvalidArgument', `If-Match must name a revision such as "3", not ${header}`, [
      { path: 'If-Match', message: 'must be a revision number' },
    ]);
  }
  return Number(match[1]);
}

/**
 * A write of a record with a revision, with the preconditions its request sets: `If-Match` (only over that
 * revision) and `If-None-Match: *` (only if new).
 */
export function guardedWrite(request: ApiRequest, clock: () => Date) {
  const expectedRevision = ifMatchRevision(request);
  return {
    ...changeBy(request, clock),
    ...(expectedRevision !== undefined && { expectedRevision }),
    ...(ifNoneMatchAny(request) && { createOnly: true }),
  };
}

/**
 * The answer for a record with a revision: its view, and the revision as the ETag that `If-Match` takes
 * back. `created`: 201, the record is new.
 */
export function revisedAnswer(json: unknown, revision: number, created = false): ApiResponse {
  return { status: created ? 201 : 200, json, headers: { etag: `"${revision}"` } };
}

/** Whether the write asks to create only (`If-None-Match: *`); any other value is refused. */
export function ifNoneMatchAny(request: ApiRequest): boolean {
  const header = request.req.headers['if-none-match'];
  if (header === undefined) return false;
  if (header.trim() !== '*') {
    throw new SluiceError(
      'InvalidArgument',
      'If-None-Match accepts only * (create it only if it does not exist)',
      [{ path: 'If-None-Match', message: 'must be *' }],
    );
  }
  return true;
}
