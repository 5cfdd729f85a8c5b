import { CONFIG_DEFAULTS, type FunctionConfig } from '../../src/core/function-config.js';

/** A valid function configuration for fixtures: a Node.js handler with the defaults, some fields replaced. */
export function config(overrides: Partial<FunctionConfig> = {}): FunctionConfig {
  return {
    runtime: 'nodejs20',
    handler: 'index.handler',
    ...CONFIG_DEFAULTS,
    // A fresh object per configuration: a fixture that changes its variables changes no other.
    environmentVariables: {},
    ...overrides,
  };
}
