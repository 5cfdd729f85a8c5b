import { type Static, Type } from '@sinclair/typebox';
import { MAX_PROVISIONED_TARGET } from '../../core/provisioned.js';
import { Strict, Timestamp } from './common.js';

const CanaryRatio = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Literal('weight')], {
  description:
    'the canary’s part of the instances: a fraction from 0 to 1 (steps of 0.0001), or "weight" to follow the alias’s canary weight',
});

export const ProvisionedBody = Strict(
  {
    target: Type.Integer({
      minimum: 0,
      maximum: MAX_PROVISIONED_TARGET,
      description: 'instances kept started and warm on the whole platform',
    }),
    canaryRatio: Type.Optional(CanaryRatio),
  },
  { title: 'provisioned instances' },
);
export type ProvisionedBody = Static<typeof ProvisionedBody>;

const counts = {
  target: Type.Integer(),
  started: Type.Integer(),
  ready: Type.Integer(),
  failed: Type.Integer(),
};
const VersionCounts = Strict({
  version: Type.String(),
  role: Type.Union([Type.Literal('primary'), Type.Literal('canary')]),
  ...counts,
});

export const ProvisionedView = Strict({
  functionName: Type.String(),
  qualifier: Type.String(),
  target: Type.Integer(),
  canaryRatio: CanaryRatio,
  /** How the target splits between the versions, and what the live nodes run of each, summed. */
  versions: Type.Array(VersionCounts),
  /** What each node runs, from its last heartbeat. */
  nodes: Type.Array(Strict({ node: Type.String(), seenAt: Timestamp, versions: Type.Array(VersionCounts) })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ProvisionedView = Static<typeof ProvisionedView>;

export const ProvisionedList = Strict({ provisioned: Type.Array(ProvisionedView) });
export type ProvisionedList = Static<typeof ProvisionedList>;
