import type { Store } from './store.js';

/**
 * The store, with each call of each operation counted in `counts` (by method name): what the server asks of its
 * database, for `/metrics` (`sluice_store_operations_total`) — and the proof that an idle server asks nothing.
 */
export function countedStore(store: Store, counts: Map<string, number>): Store {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let wrapper = wrappers.get(key);
      if (!wrapper) {
        const method = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]) => {
          counts.set(key, (counts.get(key) ?? 0) + 1);
          return method.apply(target, args);
        };
        wrappers.set(key, wrapper);
      }
      return wrapper;
    },
  });
}
