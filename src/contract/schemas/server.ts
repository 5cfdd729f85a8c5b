import { type Static, Type } from '@sinclair/typebox';
import { Enum, Nullable, Strict } from './common.js';

/** This node, as `GET /v1/server` describes it: its id, how it keeps functions apart, where its data plane is. */
export const ServerView = Strict({
  node: Type.String(),
  isolation: Strict({
    sandbox: Enum(['bubblewrap', 'none'] as const),
    users: Enum(['per-function', 'server', 'nobody'] as const),
    limits: Enum(['cgroup-v1', 'cgroup-v2', 'polling'] as const),
    problems: Type.Array(Type.String()),
  }),
  dataPlane: Nullable(
    Strict({ port: Type.Optional(Type.Integer()), publicHost: Type.Optional(Type.String()) }),
  ),
});
export type ServerView = Static<typeof ServerView>;
