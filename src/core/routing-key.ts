import { type Issues, describeType, fieldPath, isPlainObject } from './validate.js';

/**
 * Tencent's `RoutingKey`: what an invoke API caller tells routing about itself, a JSON object of strings.
 * `key` conditions read its entries by exact name; `header` conditions read them when the request has no such
 * header (SCF's rule: on an API invocation the routing key stands for the headers), by name in any case.
 */
export type RoutingKey = Readonly<Record<string, string>>;

/**
 * Validates a routing key, reporting each problem at `path.name`. Two names that differ only in case are
 * refused: a header rule reads names in any case, and could not tell which of the two it meant.
 */
export function checkRoutingKey(value: unknown, path: string, issues: Issues): RoutingKey | undefined {
  if (!isPlainObject(value)) {
    issues.add(path, `must be a JSON object of strings such as {"User":"Bob"}, not ${describeType(value)}`);
    return undefined;
  }
  const seen = new Map<string, string>();
  let valid = true;
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      issues.add(fieldPath(path, name), `must be a string, not ${describeType(entry)}`);
      valid = false;
    }
    const twin = seen.get(name.toLowerCase());
    if (twin !== undefined) {
      issues.add(
        fieldPath(path, name),
        `differs from "${twin}" only in case: a header rule reads either, so give one of them`,
      );
      valid = false;
    }
    seen.set(name.toLowerCase(), name);
  }
  return valid ? (value as RoutingKey) : undefined;
}

/** The routing key's entries by lower-cased name, as a `header` condition looks them up. */
export function entriesByHeaderName(routingKey: RoutingKey): ReadonlyMap<string, string> {
  return new Map(Object.entries(routingKey).map(([name, value]) => [name.toLowerCase(), value]));
}
