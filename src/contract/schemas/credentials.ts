import { type Static, Type } from '@sinclair/typebox';
import {
  CREDENTIAL_NAME,
  CREDENTIAL_NAME_HINT,
  FUNCTION_PREFIX,
  FUNCTION_PREFIX_HINT,
  SCOPES,
} from '../../core/credentials.js';
import { Enum, Nullable, Strict, Timestamp } from './common.js';

const credential = {
  name: Type.String({ pattern: CREDENTIAL_NAME.source, description: CREDENTIAL_NAME_HINT }),
  scope: Enum(SCOPES, {
    description:
      'admin: everything; deploy: functions, code, versions, aliases, APIs and stages, rollouts, and invoking; invoke: the data plane only',
  }),
};

const functionPrefix = Type.String({
  pattern: FUNCTION_PREFIX.source,
  description: FUNCTION_PREFIX_HINT,
});

/** What an admin asks for; `functionPrefix` limits the credential to functions whose names start with it. */
export const CreateCredential = Strict(
  { ...credential, functionPrefix: Type.Optional(functionPrefix) },
  { title: 'credential' },
);
export type CreateCredential = Static<typeof CreateCredential>;

const view = {
  id: Type.String(),
  ...credential,
  functionPrefix: Nullable(functionPrefix),
  createdAt: Timestamp,
};

/** A token as listed: never the token itself, which only its creation answers. */
export const TokenView = Strict(view, { title: 'token' });
export type TokenView = Static<typeof TokenView>;
export const TokenList = Strict({ tokens: Type.Array(TokenView) });
export const NewToken = Strict(
  { ...view, token: Type.String({ description: 'the bearer token: shown this once, kept by nobody' }) },
  { title: 'new token' },
);

export const AccessKeyView = Strict(view, { title: 'access key' });
export type AccessKeyView = Static<typeof AccessKeyView>;
export const AccessKeyList = Strict({ accessKeys: Type.Array(AccessKeyView) });
export const NewAccessKey = Strict(
  {
    ...view,
    secret: Type.String({ description: 'the access key secret: shown this once, kept sealed' }),
  },
  { title: 'new access key' },
);
