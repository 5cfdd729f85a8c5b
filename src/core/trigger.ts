/** Who may call a function's HTTP trigger: any caller, or only callers with a token. */
export interface HttpTrigger {
  authType: 'token' | 'anonymous';
}

export const DEFAULT_TRIGGER: HttpTrigger = { authType: 'token' };
