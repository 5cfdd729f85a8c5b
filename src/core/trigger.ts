import { Issues, readObject, requireField } from './validate.js';

/** Who may call a function's HTTP trigger: any caller, or only callers with a token. */
export interface HttpTrigger {
  authType: 'token' | 'anonymous';
}

export const DEFAULT_TRIGGER: HttpTrigger = { authType: 'token' };

export function parseHttpTrigger(input: unknown): HttpTrigger {
  const issues = new Issues();
  const obj = readObject(input, '', issues, ['authType']);
  const authType = obj && requireField(obj, 'authType', '', issues);
  if (authType !== undefined && authType !== 'token' && authType !== 'anonymous') {
    issues.add('authType', 'must be "token" or "anonymous"');
  }
  issues.throwIfAny('HTTP trigger');
  return { authType: authType as HttpTrigger['authType'] };
}
