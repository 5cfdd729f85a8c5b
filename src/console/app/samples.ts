import { SAMPLE_HANDLERS, type Sample } from '../../contract/seed-handlers.js';

/* Starter code offered when creating a function: each runtime's sample (what `sluice init` writes), and others. */

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

/** The sample of a runtime (Node.js's for one this console does not know). */
export function sampleOf(runtime: string): Sample {
  return (SAMPLE_HANDLERS as Partial<Record<string, Sample>>)[runtime] ?? SAMPLE_HANDLERS.nodejs20;
}

export interface Starter {
  id: string;
  label: string;
  description: string;
  /** The code for a runtime, or undefined where this starter has none. */
  source: (runtime: string) => string | undefined;
}

export const STARTERS: readonly Starter[] = [
  {
    id: 'seed',
    label: 'Version reporter (the canary release guide’s sample)',
    description: 'Logs the qualifier and the version that ran (context.service.qualifier and versionId).',
    source: (runtime) => sampleOf(runtime).source,
  },
  {
    id: 'hello',
    label: 'Hello world',
    description: 'Reads a JSON event and answers with a greeting (Node.js and Python).',
    source: (runtime) => ({ nodejs20: NODE_HELLO, python3: PYTHON_HELLO })[runtime],
  },
  { id: 'empty', label: 'Empty', description: 'An empty handler file.', source: () => '' },
];

const EXTENSIONS: Record<string, string> = { python3: '.py', 'php8.2': '.php' };

/**
 * The file a handler names: `index.handler` → `index.js` (Node.js), `index.py` (Python), `index.php` (PHP);
 * in C#, `Desktop::Desktop.App::Handler` → `Desktop.cs`, a source of the assembly Sluice compiles; a custom
 * runtime's is its `bootstrap`, whatever the handler.
 */
export function handlerFile(handler: string, runtime: string): string {
  if (runtime === 'custom') return SAMPLE_HANDLERS.custom.file;
  if (runtime === 'csharp') return `${handler.split('::')[0] || 'App'}.cs`;
  const dot = handler.lastIndexOf('.');
  const base = dot > 0 ? handler.slice(0, dot) : 'index';
  return `${base}${EXTENSIONS[runtime] ?? '.js'}`;
}
