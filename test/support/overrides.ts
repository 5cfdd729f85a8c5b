/** A valid input for a schema test: `valid` with some fields replaced, or removed when given `undefined`. */
export function withOverrides(
  valid: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries({ ...valid, ...overrides }).filter(([, v]) => v !== undefined));
}
