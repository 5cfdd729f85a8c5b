/**
 * The layers of the code (README, "Development"), held by `npm run lint`: each rule forbids one kind of import,
 * and its comment, printed with every violation, says why.
 */
const ours = '^src/';

export default {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'the core is pure domain rules that every part builds on: it imports nothing of ours',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: ours, pathNot: '^src/core/' },
    },
    {
      name: 'store-on-core-only',
      comment:
        "the store keeps the core's model: it must not depend on the HTTP, runtime or control-plane code above it",
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: ours, pathNot: '^src/(core|store)/' },
    },
    {
      name: 'data-plane-apart-from-control-plane',
      comment:
        'the data plane serves invocations from a snapshot of what the control plane wrote; it never calls it',
      severity: 'error',
      from: { path: '^src/(gateway|runtime)/' },
      to: { path: '^src/(api|rollouts|console|cli)/' },
    },
    {
      name: 'cli-client-over-http',
      comment:
        "the CLI client talks to a server over HTTP: it loads its own modules and the contract, never the server's",
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/server-command\\.ts$' },
      to: { path: ours, pathNot: '^src/(cli|contract)/' },
    },
    {
      name: 'server-command-loaded-lazily',
      comment:
        '`sluice server` loads the server only when it runs, so that no other command loads it: import it dynamically',
      severity: 'error',
      from: {},
      to: { path: '^src/cli/server-command\\.ts$', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'console-over-http',
      comment:
        'the console runs in a browser and talks to /v1 over HTTP: it loads its own modules and the contract only',
      severity: 'error',
      from: { path: '^src/console/app/' },
      to: { path: ours, pathNot: '^src/(console/app|contract)/' },
    },
    {
      name: 'console-without-cycles',
      comment:
        "the console's modules import one way: the function page imports its tabs, which see it only through pages/function-context.ts",
      severity: 'error',
      from: { path: '^src/console/app/' },
      to: { circular: true },
    },
    {
      name: 'contract-shared-by-both-sides',
      comment:
        'server and clients both load the contract, so it holds what they share and the pure core, nothing of either side',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { path: ours, pathNot: '^src/(contract|core)/' },
    },
    {
      name: 'bootstraps-stand-alone',
      comment:
        'a bootstrap runs in the sandbox, which holds only the bootstraps: it can load nothing else of ours',
      severity: 'error',
      from: { path: '^src/runtime/bootstraps/' },
      to: { path: ours, pathNot: '^src/runtime/bootstraps/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
