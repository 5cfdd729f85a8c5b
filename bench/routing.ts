/** Routing decisions per second, in process: the pure engine over compiled aliases of N functions. */
import { parseAliasSpec } from '../src/core/alias.js';
import { compileRoute, route, type CompiledRoute, type ParameterLookup } from '../src/core/routing.js';
import { quick } from './settings.js';
import type { Table } from './table.js';

export function routingDecisionsPerSecond(functions: number, millis: number): number {
  const routes = new Map<string, CompiledRoute>();
  for (let i = 0; i < functions; i++) {
    const spec =
      i % 2 === 0
        ? parseAliasSpec({ version: '1', canary: { version: '2', weight: 0.1 } })
        : parseAliasSpec({
            version: '1',
            canary: {
              version: '2',
              match: 'all',
              rules: [
                { source: 'header', name: 'x-user', op: '=', value: 'bob' },
                { source: 'header', name: 'x-tier', op: 'in', value: ['gold', 'beta'] },
                { source: 'query', name: 'n', op: '>', value: 10 },
              ],
            },
          });
    routes.set(`fn${i}`, compileRoute(spec, `fn${i}/live`));
  }
  const names = [...routes.keys()];
  const headers: Record<string, string> = { 'x-user': 'bob', 'x-tier': 'gold' };
  const lookup: ParameterLookup = (source, name) =>
    source === 'header' ? headers[name] : source === 'query' ? '42' : undefined;
  let decisions = 0;
  let sink = 0;
  const deadline = performance.now() + millis;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i++) {
      const compiled = routes.get(names[(decisions + i) % names.length] as string) as CompiledRoute;
      sink += route(compiled, lookup, Math.random) === 2 ? 1 : 0;
    }
    decisions += 10_000;
  }
  if (sink < 0) throw new Error('unreachable');
  return decisions / (millis / 1000);
}

export function routingRows(table: Table): void {
  for (const functions of [10, 10_000]) {
    table.add({
      scenario: `routing ${functions}`,
      what: `routing decisions per second over ${functions} functions' aliases (half weighted, half 3-condition rules)`,
      rps: routingDecisionsPerSecond(functions, quick ? 500 : 2000),
    });
  }
}
