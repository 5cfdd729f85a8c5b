import { isFunctionName, parseQualifier } from './names.js';
import { Issues } from './validate.js';

export type AsyncStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';

export const ASYNC_STATUSES: readonly AsyncStatus[] = ['queued', 'running', 'succeeded', 'failed', 'expired'];

/** Where an event's record goes once it has ended: another function (any qualifier), or an HTTP URL. */
export type Destination = { function: string; qualifier?: string } | { url: string };

/** A function's asynchronous invocation settings: not part of its versions, like its HTTP trigger's. */
export interface AsyncConfig {
  /** Retries after a failed attempt, 0–8. */
  maxRetries: number;
  /** An event not ended this long after it was queued is expired, not run again. */
  maxEventAgeSeconds: number;
  onSuccess?: Destination;
  onFailure?: Destination;
}

export const MAX_ASYNC_RETRIES = 8;
export const MIN_EVENT_AGE_SECONDS = 1;
/** Six hours, as Lambda and Function Compute keep an event. */
export const MAX_EVENT_AGE_SECONDS = 21_600;

export const DEFAULT_ASYNC_CONFIG: AsyncConfig = {
  maxRetries: 2,
  maxEventAgeSeconds: MAX_EVENT_AGE_SECONDS,
};

/** A destination as the API takes it, its shape already checked by the schema. */
type DestinationInput = { function: string; qualifier?: string } | { url: string };

export interface AsyncConfigInput {
  maxRetries?: number;
  maxEventAgeSeconds?: number;
  onSuccess?: DestinationInput | null;
  onFailure?: DestinationInput | null;
}

/**
 * A function's async settings from the API's body: what the schema cannot say (a URL that parses, a
 * qualifier that names something) is checked here, every problem collected. Fields left out take defaults.
 */
export function parseAsyncConfig(input: AsyncConfigInput): AsyncConfig {
  const issues = new Issues();
  const config: AsyncConfig = {
    maxRetries: input.maxRetries ?? DEFAULT_ASYNC_CONFIG.maxRetries,
    maxEventAgeSeconds: input.maxEventAgeSeconds ?? DEFAULT_ASYNC_CONFIG.maxEventAgeSeconds,
  };
  for (const key of ['onSuccess', 'onFailure'] as const) {
    const given = input[key];
    if (given === undefined || given === null) continue;
    const destination = parseDestination(given, key, issues);
    if (destination) config[key] = destination;
  }
  issues.throwIfAny('async configuration');
  return config;
}

function parseDestination(input: DestinationInput, path: string, issues: Issues): Destination | undefined {
  if ('url' in input) {
    let url: URL | undefined;
    try {
      url = new URL(input.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      issues.add(`${path}.url`, 'must be an http:// or https:// URL');
      return undefined;
    }
    if (url.username || url.password) {
      issues.add(`${path}.url`, 'must not hold credentials: they would show in every record');
      return undefined;
    }
    return { url: url.href };
  }
  if (!isFunctionName(input.function)) {
    issues.add(`${path}.function`, 'is not a function name');
    return undefined;
  }
  if (input.qualifier === undefined) return { function: input.function };
  try {
    parseQualifier(input.qualifier);
  } catch {
    issues.add(`${path}.qualifier`, 'must be $LATEST, a version number or an alias name');
    return undefined;
  }
  return { function: input.function, qualifier: input.qualifier };
}
