/**
 * A statement written with `?` placeholders (the shared ones, see statements.ts) as PostgreSQL takes it:
 * `$1`, `$2`… in order. Shared statements use `?` for nothing else.
 */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Every statement of a group of groups (statements.ts's `SQL`), numbered. */
export function numberedAll<T extends Record<string, Record<string, string>>>(groups: T): T {
  return Object.fromEntries(
    Object.entries(groups).map(([group, statements]) => [
      group,
      Object.fromEntries(Object.entries(statements).map(([name, sql]) => [name, numbered(sql)])),
    ]),
  ) as T;
}
