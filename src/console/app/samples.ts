import { SEED_HANDLERS, SEED_NODE_HANDLER, SEED_PYTHON_HANDLER } from '../../contract/seed-handlers.js';

/* Starter code offered when creating a function: the seeds' samples, which report the version that ran, and others. */

const NODE_HELLO = `exports.handler = async (event, context) => {
  const input = JSON.parse(event.toString() || '{}');
  console.log('request', context.requestId);
  return { hello: input.name ?? 'world' };
};
`;

const PYTHON_HELLO = `import json


def handler(event, context):
    data = json.loads(event or b'{}')
    print('request', context.request_id)
    return json.dumps({'hello': data.get('name', 'world')})
`;

export interface Starter {
  id: string;
  label: string;
  description: string;
  source: (runtime: string) => string;
}

export const STARTERS: readonly Starter[] = [
  {
    id: 'seed',
    label: 'Version reporter (the canary release guide’s sample)',
    description: 'Logs context.service.qualifier and versionId, and answers with the qualifier.',
    source: (runtime) =>
      runtime === 'python3'
        ? SEED_PYTHON_HANDLER
        : runtime === 'php8.2' || runtime === 'csharp'
          ? SEED_HANDLERS[runtime].source
          : SEED_NODE_HANDLER,
  },
  {
    id: 'hello',
    label: 'Hello world',
    description: 'Reads a JSON event and answers with a greeting.',
    source: (runtime) => (runtime === 'python3' ? PYTHON_HELLO : NODE_HELLO),
  },
  { id: 'empty', label: 'Empty', description: 'An empty handler file.', source: () => '' },
];

const EXTENSIONS: Record<string, string> = { python3: '.py', 'php8.2': '.php' };

/**
 * The file a handler names: `index.handler` → `index.js` (Node.js), `index.py` (Python), `index.php` (PHP);
 * in C#, `Desktop::Desktop.App::Handler` → `Desktop.cs`, a source of the assembly Sluice compiles.
 */
export function handlerFile(handler: string, runtime: string): string {
  if (runtime === 'csharp') return `${handler.split('::')[0] || 'App'}.cs`;
  const dot = handler.lastIndexOf('.');
  const base = dot > 0 ? handler.slice(0, dot) : 'index';
  return `${base}${EXTENSIONS[runtime] ?? '.js'}`;
}
