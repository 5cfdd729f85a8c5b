import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAliasSpec } from '../core/alias.js';
import { SluiceError } from '../core/errors.js';
import { parseNewFunction } from '../core/function-config.js';
import type { AliasRecord } from '../core/model.js';
import { FcCreateAlias, FcCreateFunction, FcUpdateAlias } from '../contract/schemas/fc.js';
import { validator } from '../contract/validate.js';
import { fcErrorOf } from './errors.js';
import { fcAlias, newAliasInput, newFunctionInput, updatedAliasInput, withFcFieldNames } from './wire.js';

const alias = (spec: AliasRecord['spec']): AliasRecord => ({
  functionName: 'f',
  name: 'live',
  spec,
  revision: 1,
  createdAt: 't0',
  updatedAt: 't1',
});

test("an FC alias body becomes the core's alias, and the alias reads back as FC writes it", () => {
  const body = validator(FcCreateAlias)({
    aliasName: 'live',
    versionId: '1',
    additionalVersionWeight: { '2': 0.1 },
  });
  const spec = parseAliasSpec(newAliasInput(body));
  assert.deepEqual(spec, { version: 1, description: '', canary: { version: 2, weight: 0.1 } });
  assert.deepEqual(fcAlias(alias(spec)), {
    aliasName: 'live',
    versionId: '1',
    description: '',
    additionalVersionWeight: { '2': 0.1 },
    createdTime: 't0',
    lastModifiedTime: 't1',
  });
  assert.equal(fcAlias(alias({ version: '$LATEST', description: '' })).versionId, 'LATEST');
  assert.deepEqual(parseAliasSpec(newAliasInput({ aliasName: 'a', versionId: 'LATEST' })), {
    version: '$LATEST',
    description: '',
  });
});

test('an update changes what it names and keeps the rest, a rule canary included', () => {
  const rules = {
    version: 2,
    match: 'all' as const,
    rules: [{ source: 'header' as const, name: 'x', op: '=' as const, value: 'a' }],
  };
  const current = { version: 1, description: 'd', canary: rules };
  const kept = parseAliasSpec(updatedAliasInput(current, validator(FcUpdateAlias)({ description: 'e' })));
  assert.deepEqual(kept, { ...current, description: 'e' });
  const weighted = parseAliasSpec(
    updatedAliasInput(current, validator(FcUpdateAlias)({ additionalVersionWeight: { '3': 0.5 } })),
  );
  assert.deepEqual(weighted, { version: 1, description: 'd', canary: { version: 3, weight: 0.5 } });
  const cleared = parseAliasSpec(updatedAliasInput(current, { additionalVersionWeight: {} }));
  assert.deepEqual(cleared, { version: 1, description: 'd' });
});

test("FC's alias bodies are refused with FC's field names", () => {
  const check = validator(FcCreateAlias);
  assert.throws(
    () => check({ aliasName: 'a', versionId: '1', additionalVersionWeight: { '2': 0.1, '3': 0.1 } }),
    {
      code: 'InvalidArgument',
    },
  );
  assert.throws(() => check({ aliasName: 'a', versionId: '1', routingConfig: {} }), {
    code: 'InvalidArgument',
  });
  const error = (() => {
    try {
      withFcFieldNames(() =>
        parseAliasSpec(
          newAliasInput({ aliasName: 'a', versionId: '2', additionalVersionWeight: { '2': 0.1 } }),
        ),
      );
    } catch (e) {
      return e as SluiceError;
    }
    return undefined;
  })();
  assert.deepEqual(error?.details, [
    { path: 'additionalVersionWeight', message: 'must differ from the primary version (2)' },
  ]);
});

test("FC's function bodies: FC's runtime names, its custom runtime's command, and none of its other fields", () => {
  const check = validator(FcCreateFunction);
  const input = newFunctionInput(
    check({
      functionName: 'f',
      runtime: 'custom',
      handler: 'index.handler',
      customRuntimeConfig: { command: ['node'], args: ['server.js'] },
    }),
  );
  assert.deepEqual(parseNewFunction(input).config.command, ['node', 'server.js']);
  assert.equal(
    newFunctionInput(check({ functionName: 'f', runtime: 'python3.10', handler: 'index.handler' })).runtime,
    'python3',
  );
  for (const field of [{ vpcConfig: {} }, { cpu: 1 }, { runtime: 'python3' }, { layers: [] }])
    assert.throws(
      () => check({ functionName: 'f', runtime: 'nodejs20', handler: 'index.handler', ...field }),
      { code: 'InvalidArgument' },
      JSON.stringify(field),
    );
});

test("errors take FC's codes where FC has one, and keep Sluice's otherwise", () => {
  const cases: [SluiceError | Error, string, number][] = [
    [new SluiceError('MalformedRequest', 'x'), 'InvalidArgument', 400],
    [new SluiceError('CodeTooLarge', 'x'), 'EntityTooLarge', 400],
    [new SluiceError('Forbidden', 'x'), 'AccessDenied', 403],
    [new SluiceError('RouteNotFound', 'x'), 'PathNotSupported', 400],
    [new SluiceError('FunctionNotFound', 'x'), 'FunctionNotFound', 404],
    [new SluiceError('AliasConflict', 'x'), 'ConcurrentUpdateError', 409],
    [new SluiceError('NothingToPublish', 'x'), 'NothingToPublish', 409],
    [new SluiceError('SignatureNonceUsed', 'x'), 'SignatureNonceUsed', 403],
    [new Error('boom'), 'InternalServerError', 500],
  ];
  for (const [error, code, status] of cases) {
    const answer = fcErrorOf(error, 'rid');
    assert.equal(answer.body.Code, code);
    assert.equal(answer.status, status);
    assert.equal(answer.body.RequestId, 'rid');
  }
  assert.doesNotMatch(fcErrorOf(new Error('secret detail'), 'rid').body.Message, /secret detail/);
});
