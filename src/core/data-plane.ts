/**
 * Where HTTP triggers and API stages are served when they are kept apart from the console and `/v1`: a port
 * of their own, a host name of their own (which may carry a port), or both. Tenant pages then never share
 * the console's origin.
 */
export interface DataPlaneAddress {
  port?: number;
  publicHost?: string;
}

const HOST = /^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i;

/** Why `text` cannot be a public host name, or undefined when it can. */
export function publicHostProblem(text: string): string | undefined {
  if (!HOST.test(text)) return `"${text}" is not a host name (such as fn.example.com or fn.example.com:8443)`;
  const port = text.split(':')[1];
  if (port !== undefined && Number(port) > 65535) return `the port of "${text}" is above 65535`;
  return undefined;
}

/** Whether a request's Host header names the public host; without a port in `publicHost`, any port does. */
export function isPublicHost(hostHeader: string | undefined, publicHost: string): boolean {
  if (hostHeader === undefined) return false;
  const host = hostHeader.toLowerCase();
  const wanted = publicHost.toLowerCase();
  return wanted.includes(':') ? host === wanted : host === wanted || host.startsWith(`${wanted}:`);
}

/** The base URL (no trailing slash) of triggers and stages for a client that reaches `/v1` at `controlUrl`. */
export function dataPlaneBase(controlUrl: string, address: DataPlaneAddress | null | undefined): string {
  const url = new URL(controlUrl);
  if (address?.publicHost !== undefined) return `${url.protocol}//${address.publicHost}`;
  if (address?.port !== undefined) return `${url.protocol}//${url.hostname}:${address.port}`;
  return url.origin;
}
