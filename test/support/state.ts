import type { ApiCall } from './api-client.js';

/**
 * Everything the control plane stores, read back through the API: used to check that a refused request
 * changed nothing.
 */
export async function snapshot(api: ApiCall): Promise<unknown> {
  const functions = ((await api('GET', '/v1/functions?limit=100')).body as { functions: { name: string }[] })
    .functions;
  const out: Record<string, unknown> = {};
  for (const fn of functions) {
    const base = `/v1/functions/${fn.name}`;
    const aliases = ((await api('GET', `${base}/aliases`)).body as { aliases: { name: string }[] }).aliases;
    const histories: Record<string, unknown> = {};
    for (const alias of aliases) {
      histories[alias.name] = (
        await api('GET', `${base}/aliases/${encodeURIComponent(alias.name)}/history`)
      ).body;
    }
    out[fn.name] = {
      fn,
      versions: (await api('GET', `${base}/versions?limit=100`)).body,
      aliases,
      histories,
      // What was asked, not what the nodes report running, which their heartbeats change.
      provisioned: (
        (await api('GET', `${base}/provisioned`)).body as { provisioned: Record<string, unknown>[] }
      ).provisioned.map(({ qualifier, target, canaryRatio, createdAt, updatedAt }) => ({
        qualifier,
        target,
        canaryRatio,
        createdAt,
        updatedAt,
      })),
      code: (await api('GET', `${base}/code`)).bytes.toString('base64'),
    };
  }
  return out;
}
