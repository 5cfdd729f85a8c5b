import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import type { InvocationLog, LogFilter } from '../core/telemetry.js';
import type { CodeLimits } from '../core/code-package.js';
import type { Runtime } from '../core/function-config.js';
import type { DataPlaneAddress } from '../core/data-plane.js';
import type { ZipWorkers } from '../code/zip-workers.js';
import type { IsolationReport } from '../core/isolation.js';
import type { CredentialVerifier } from '../auth/credentials.js';
import type { Sealer } from '../auth/seal.js';
import type { Principal, Scope } from '../core/credentials.js';
import type { RolloutEngine } from '../rollouts/engine.js';
import type { Store } from '../store/store.js';

/** Logs as they are recorded, for followers; the data plane provides it. */
export interface LogFeed {
  /**
   * Calls `listener` with each new log of the function (of those matching `filter`: a feed may also pass
   * others) after those `shown` to the follower already, until the returned function is called.
   */
  follow(
    functionName: string,
    filter: LogFilter,
    shown: readonly InvocationLog[],
    listener: (log: InvocationLog) => void,
  ): () => void;
}

/** What a write changed, for every node to learn: a function, an API, or a credential (revoked). */
export type Changed = { function: string } | { api: string } | { credential: string };

export interface ApiDeps {
  logFeed: LogFeed;
  rollouts: RolloutEngine;
  store: Store;
  credentials: CredentialVerifier;
  /** Seals the secrets of new access keys. */
  sealer: Sealer;
  /** Called after every change, before the response is sent. */
  changed: (what: Changed) => Promise<void>;
  codeLimits: CodeLimits;
  /** Where uploads are normalized, off the event loop. */
  zipWorkers: ZipWorkers;
  clock: () => Date;
  /** Why this node cannot run a runtime's functions (its interpreter is missing), or undefined. */
  runtimeProblem: (runtime: Runtime) => string | undefined;
  /** This node, as `GET /v1/server` describes it. */
  server: { node: string; isolation: IsolationReport; dataPlane: DataPlaneAddress | null };
}

export interface ApiRequest {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The credential that authenticated the request, and what it may do. */
  principal: Principal;
  /** The principal's name and id, as histories record who made a change. */
  actor: string;
}

export type ApiResponse =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { status: number; bytes: Buffer; contentType: string; headers?: Record<string, string> }
  /** A response the handler writes itself, as it goes (Server-Sent Events). */
  | { status: number; stream: (res: ServerResponse) => void };

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

/** A JSON body, or Server-Sent Events of the same items when the client asks to follow them. */
export class JsonOrEvents {
  constructor(readonly schema: TSchema) {}
}

/** An answer as the OpenAPI document describes it: a JSON body's schema, a zip, or none. */
export type Answer = TSchema | JsonOrEvents | 'zip' | 'empty';

/** A request header a route reads, and what it does there. */
export interface HeaderParam {
  name: string;
  description: string;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  /** Routes that answer without a token (the OpenAPI document). */
  public?: boolean;
  /**
   * Who may call it: the scope it needs (`deploy` unless said). A credential limited to a prefix of function
   * names may call a route whose path names a function (`{name}`) only for a function within its prefix;
   * one that names none only if `prefix` is `handler`: the handler checks the function it touches itself
   * (a function created from a body, a rollout by id) or filters what it lists by the prefix.
   */
  access?: { scope?: Scope; prefix?: 'handler' };
  /** The query parameters it knows: any other is refused before the handler runs. */
  query?: readonly string[];
  /** The request headers it reads beyond authentication (preconditions), as the OpenAPI document lists them. */
  headers?: readonly HeaderParam[];
  /** The body it takes (`jsonRoute` checks it before the handler runs); `zip`: also as application/zip. */
  request?: { schema: TSchema; optional: boolean; zip?: boolean };
  /** What it answers on success, by status; errors are the catalog's. */
  responses: Readonly<Record<number, Answer>>;
  handler: ApiHandler;
}

export const JSON_LIMIT = 1024 * 1024;

/** The actor and time a write is recorded with. */
export function changeBy(request: ApiRequest, clock: () => Date): { actor: string; now: string } {
  return { actor: request.actor, now: clock().toISOString() };
}
