import type { FunctionConfig } from './function-config.js';
import type { AliasSpec } from './alias.js';
import type { ApiDefinition, StageSpec } from './api-gateway.js';
import type { HttpTrigger } from './trigger.js';
import type { AsyncConfig } from './async-config.js';
import type { ProvisionedReport, ProvisionedSpec } from './provisioned.js';

/** A code package as stored: its canonical zip's sha256 and size. */
export interface CodeRef {
  sha256: string;
  size: number;
}

export interface FunctionRecord {
  name: string;
  config: FunctionConfig;
  trigger: HttpTrigger;
  /** Its asynchronous invocations' retries, age and destinations; absent: the defaults. */
  async?: AsyncConfig;
  code: CodeRef;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  functionName: string;
  version: number;
  description: string;
  config: FunctionConfig;
  code: CodeRef;
  createdAt: string;
}

export interface AliasRecord {
  functionName: string;
  name: string;
  spec: AliasSpec;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export type AliasAction = 'create' | 'update' | 'rollback' | 'delete';

/** One change to an alias: who made it, when, and the configuration before and after. */
export interface AliasHistoryEntry {
  functionName: string;
  alias: string;
  revision: number;
  action: AliasAction;
  actor: string;
  at: string;
  before: AliasSpec | null;
  after: AliasSpec | null;
}

/** One page of a listing, with the token that fetches the next one. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export interface ApiRecord {
  name: string;
  definition: ApiDefinition;
  createdAt: string;
  updatedAt: string;
}

export interface StageRecord {
  api: string;
  name: string;
  spec: StageSpec;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** One change to a stage's bindings, recorded as alias changes are. */
export interface StageHistoryEntry {
  api: string;
  stage: string;
  revision: number;
  action: 'create' | 'update' | 'delete';
  actor: string;
  at: string;
  before: StageSpec | null;
  after: StageSpec | null;
}

/** A qualifier's provisioned instances, as the control plane wrote them. */
export interface ProvisionedRecord {
  functionName: string;
  /** `$LATEST`, a version number or an alias name. */
  qualifier: string;
  spec: ProvisionedSpec;
  createdAt: string;
  updatedAt: string;
}

/** A node's last sign of life in the store, with what it runs. */
export interface NodeBeat {
  node: string;
  /** Epoch ms, by the node's clock. */
  at: number;
  provisioned: ProvisionedReport[];
}
