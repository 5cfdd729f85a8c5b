import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, dataPlaneBase, type Backoff, type DataPlaneAddress } from '../contract/domain.js';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Args } from './args.js';
import { ApiError, CliError, UsageError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:9000';
const DEFAULT_TOKEN_FILE = '.sluice/admin-token';

/** How often a write is sent again, and how long apart: long enough for a node's store to reconnect. */
const WRITE_RETRIES = 2;
const WRITE_BACKOFF: Backoff = { firstMs: 300, maxMs: 1200, jitter: 0.2 };

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Answer an error response too, rather than throwing it (the caller reads its headers first). */
  acceptErrors?: boolean;
}

/**
 * A response, read once. (node:http rather than fetch: loading fetch would cost each command a few tenths of
 * a second at start.)
 */
export class Reply {
  constructor(readonly message: IncomingMessage) {}

  get status(): number {
    return this.message.statusCode ?? 0;
  }

  get statusText(): string {
    return this.message.statusMessage ?? '';
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  header(name: string): string | undefined {
    const value = this.message.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.message) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }
}

/** A path segment: names are URL-safe already, and `$DEFAULT` / `$LATEST` keep their `$`. */
export const seg = (text: string): string => encodeURIComponent(text).replace(/%24/g, '$');

async function readTokenFile(file: string, explicit: boolean): Promise<string | undefined> {
  if (!explicit && !existsSync(file)) return undefined;
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token === '') throw new CliError(`the token file ${file} is empty`);
    return token;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read the token file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

/** The server and token: flags first, then SLUICE_SERVER / SLUICE_TOKEN / SLUICE_TOKEN_FILE, then defaults. */
export async function connect(args: Args): Promise<Client> {
  const env = process.env;
  const server =
    args.string('server') ?? args.string('url') ?? env.SLUICE_SERVER ?? env.SLUICE_URL ?? DEFAULT_SERVER;
  let parsed: URL;
  try {
    parsed = new URL(server);
  } catch {
    throw new UsageError(`--server takes a URL such as ${DEFAULT_SERVER}, not "${server}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`--server must be an http:// or https:// URL, not "${server}"`);
  const tokenFlag = args.string('token');
  const fileFlag = args.string('token-file');
  let token: string | undefined;
  let source = 'no token was given';
  if (tokenFlag !== undefined) {
    token = tokenFlag;
    source = 'the token given with --token';
    // The title replaces the command line that other users' `ps` shows, for as long as this command runs.
    process.title = 'sluice';
    process.stderr.write(
      'warning: a token given with --token is visible to every local user while the command runs; use --token-file or SLUICE_TOKEN\n',
    );
  } else if (fileFlag !== undefined) {
    token = await readTokenFile(fileFlag, true);
    source = `the token in ${fileFlag}`;
  } else if (env.SLUICE_TOKEN) {
    token = env.SLUICE_TOKEN;
    source = 'the token in SLUICE_TOKEN';
  } else if (env.SLUICE_TOKEN_FILE) {
    token = await readTokenFile(env.SLUICE_TOKEN_FILE, true);
    source = `the token in ${env.SLUICE_TOKEN_FILE} (SLUICE_TOKEN_FILE)`;
  } else {
    const file = resolve(DEFAULT_TOKEN_FILE);
    token = await readTokenFile(file, false);
    if (token !== undefined) source = `the token in ./${DEFAULT_TOKEN_FILE}`;
  }
  return new Client(server.replace(/\/+$/, ''), token, source);
}

/** The control-plane API over fetch: JSON in and out, API errors as ApiError, network errors as one line. */
export class Client {
  private dataPlane: Promise<string> | undefined;

  constructor(
    readonly server: string,
    private readonly token: string | undefined,
    private readonly tokenSource: string,
  ) {}

  url(path: string, query: Record<string, string | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
    const search = params.toString();
    return `${this.server}${path}${search ? `?${search}` : ''}`;
  }

  /**
   * Sends a request; answers the response when it is a success, throws ApiError otherwise. A control-plane
   * write carries an `Idempotency-Key`, and is sent again with the same key when the connection failed or the
   * server answered a failure of its own (5xx): the server applies it once, whichever tries reached it.
   */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const retried = method !== 'GET' && path.startsWith('/v1/') && !path.endsWith('/invocations');
    if (!retried) return this.sendOnce(method, path, options);
    const headers = { 'idempotency-key': randomUUID(), ...options.headers };
    for (let retry = 0; ; retry++) {
      const last = retry === WRITE_RETRIES;
      try {
        const reply = await this.sendOnce(method, path, { ...options, headers, acceptErrors: true });
        if (reply.status < 500 || last) {
          if (reply.ok || options.acceptErrors) return reply;
          throw await this.apiError(reply, path);
        }
        await reply.text();
      } catch (error) {
        if (!(error instanceof CliError) || error instanceof ApiError || last) throw error;
      }
      await sleep(backoffDelay(WRITE_BACKOFF, retry));
    }
  }

  private async sendOnce(method: string, path: string, options: RequestOptions): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.contentType) headers['content-type'] = options.contentType;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const url = this.url(path, options.query);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, {
        method,
        headers,
        ...(options.signal && { signal: options.signal }),
      });
      request.once('response', resolve);
      request.once('error', reject);
      request.end(body);
    }).catch((error: unknown) => {
      const err = error as NodeJS.ErrnoException;
      if (err.name === 'AbortError') throw error;
      throw new CliError(
        `cannot reach the Sluice server at ${this.server} (${err.code ?? err.message}): start it with "sluice server", or point --server or SLUICE_SERVER at it`,
      );
    });
    const reply = new Reply(response);
    if (reply.ok || options.acceptErrors) return reply;
    throw await this.apiError(reply, path);
  }

  /** Where this server serves HTTP triggers and API stages, as `GET /v1/server` says; asked once. */
  dataPlaneUrl(): Promise<string> {
    this.dataPlane ??= this.call<{ dataPlane?: DataPlaneAddress | null }>('GET', '/v1/server').then(
      (server) => dataPlaneBase(this.server, server.dataPlane),
    );
    return this.dataPlane;
  }

  /** A JSON request; answers the parsed body (undefined for 204). */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async apiError(response: Reply, path: string): Promise<ApiError> {
    const text = await response.text();
    let code = `HTTP ${response.status}`;
    let message = response.statusText || 'the server answered an error';
    let details: unknown;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
      if (parsed.error?.code) code = parsed.error.code;
      // The first line: a message that carries a runtime's output would otherwise bring its stack trace along.
      if (parsed.error?.message) message = parsed.error.message.split('\n')[0] ?? parsed.error.message;
      details = parsed.error?.details;
    } catch {
      if (text.trim()) message = text.trim().split('\n')[0] ?? message;
    }
    if (response.status === 401) {
      message +=
        this.token === undefined
          ? `; ${this.tokenSource}: pass --token-file, set SLUICE_TOKEN, or run where the server wrote .sluice/admin-token`
          : `; ${this.tokenSource} was refused: pass the right one with --token-file or SLUICE_TOKEN`;
    }
    const fn = /^\/v1\/functions\/([^/?]+)/.exec(path)?.[1];
    return new ApiError(code, response.status, message, details, fn && decodeURIComponent(fn));
  }
}

/** Lists a paged collection to its end. */
export async function listAll<T>(
  client: Client,
  path: string,
  key: string,
  query: Record<string, string | undefined> = {},
): Promise<T[]> {
  const items: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.call('GET', path, {
      query: { ...query, limit: '100', nextToken },
    });
    items.push(...((page[key] as T[] | undefined) ?? []));
    nextToken = (page.nextToken as string | null | undefined) ?? undefined;
  } while (nextToken);
  return items;
}

/** For "not found" errors, the names that do exist, so that a typo is easy to see. */
export async function whatExists(client: Client, error: ApiError): Promise<string | undefined> {
  const fn = error.functionName;
  try {
    if (error.code === 'FunctionNotFound') {
      const names = (await listAll<{ name: string }>(client, '/v1/functions', 'functions')).map(
        (f) => f.name,
      );
      return names.length ? `functions: ${names.join(', ')}` : 'there are no functions yet';
    }
    if (error.code === 'AliasNotFound' && fn) {
      const { aliases } = await client.call<{ aliases: { name: string }[] }>(
        'GET',
        `/v1/functions/${seg(fn)}/aliases`,
      );
      return `aliases of ${fn}: ${aliases.map((a) => a.name).join(', ')}`;
    }
    if (error.code === 'VersionNotFound' && fn) {
      const versions = await listAll<{ versionId: string }>(
        client,
        `/v1/functions/${seg(fn)}/versions`,
        'versions',
      );
      return versions.length
        ? `versions of ${fn}: ${versions.map((v) => v.versionId).join(', ')}`
        : `${fn} has no published version yet`;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
