import { issueAccessKey, issueToken } from '../auth/issue.js';
import { SluiceError } from '../core/errors.js';
import {
  AccessKeyList,
  CreateCredential,
  NewAccessKey,
  NewToken,
  TokenList,
} from '../contract/schemas/credentials.js';
import type { CredentialRecord } from '../store/store.js';
import type { ApiDeps, ApiRequest, ApiRoute } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute } from './plain-routes.js';

const ADMIN = { scope: 'admin' } as const;

function credentialView(record: CredentialRecord) {
  return {
    id: record.id,
    name: record.name,
    scope: record.scope,
    functionPrefix: record.functionPrefix ?? null,
    createdAt: record.createdAt,
  };
}

function idParam(request: ApiRequest): string {
  const id = request.params.id ?? '';
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id))
    throw new SluiceError('InvalidArgument', `"${id}" is not a credential id`, [
      { path: 'id', message: 'must be a credential id' },
    ]);
  return id;
}

/**
 * Tokens and access keys, for admins only. A secret is answered once, by its creation; lists never hold one.
 * Revoking answers once the store forgot the credential; every node forgets it within the change feed's
 * bound (src/auth/credentials.ts).
 */
export function credentialRoutes({ store, sealer, clock }: ApiDeps): ApiRoute[] {
  return [
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/tokens',
        summary: 'Create a bearer token with a scope (admin, deploy, invoke) and an optional function prefix',
        access: ADMIN,
        responses: { 201: NewToken },
      },
      { schema: CreateCredential },
      async (_request, body) => {
        const { record, token } = await issueToken(store, body, clock());
        return { status: 201, json: { ...credentialView(record), token } };
      },
    ),
    getRoute(
      {
        path: '/v1/tokens',
        summary: 'List the tokens by name (without the tokens themselves)',
        access: ADMIN,
        responses: { 200: TokenList },
      },
      async () => ({ tokens: (await store.listTokens()).map(credentialView) }),
    ),
    deleteRoute(
      {
        path: '/v1/tokens/{id}',
        summary: 'Revoke a token (not the last with admin scope)',
        access: ADMIN,
      },
      async (request) => {
        await store.deleteToken(idParam(request));
      },
    ),
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/access-keys',
        summary:
          'Create an access-key pair (id and secret) for the vendor APIs, with a scope and an optional function prefix',
        access: ADMIN,
        responses: { 201: NewAccessKey },
      },
      { schema: CreateCredential },
      async (_request, body) => {
        const { record, secret } = await issueAccessKey(store, sealer, body, clock());
        return { status: 201, json: { ...credentialView(record), secret } };
      },
    ),
    getRoute(
      {
        path: '/v1/access-keys',
        summary: 'List the access keys by name (without their secrets)',
        access: ADMIN,
        responses: { 200: AccessKeyList },
      },
      async () => ({ accessKeys: (await store.listAccessKeys()).map(credentialView) }),
    ),
    deleteRoute(
      {
        path: '/v1/access-keys/{id}',
        summary: 'Delete an access key',
        access: ADMIN,
      },
      async (request) => {
        await store.deleteAccessKey(idParam(request));
      },
    ),
  ];
}
