import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../core/errors.js';
import { SEAL_KEY_BYTES } from './seal.js';

export const CREDENTIAL_KEY_FILE = 'credential-key';
export const CREDENTIAL_KEY_ENV = 'SLUICE_CREDENTIAL_KEY';

export interface CredentialKeys {
  /** The first seals; all open. */
  keys: Buffer[];
  /** Where they came from, for the server's log. */
  source: string;
  /** This start made the key file in the data directory (a node alone; several need one key given to all). */
  created: boolean;
}

/**
 * The keys that seal access-key secrets: from `SLUICE_CREDENTIAL_KEY` or `--credential-key-file` (for several
 * nodes, which must share them), else from `<dataDir>/credential-key`, made on the first start. Each key is 32
 * random bytes in base64; several (one a line, or separated by commas in the variable) during a rotation.
 */
export async function loadCredentialKeys(options: {
  dataDir: string;
  file?: string;
  env?: string;
}): Promise<CredentialKeys> {
  if (options.file !== undefined && options.env !== undefined)
    throw new SluiceError(
      'InvalidArgument',
      `give the credential key either by --credential-key-file or by ${CREDENTIAL_KEY_ENV}, not both`,
    );
  if (options.env !== undefined)
    return { keys: parseKeys(options.env, CREDENTIAL_KEY_ENV), source: CREDENTIAL_KEY_ENV, created: false };
  const file = options.file ?? join(options.dataDir, CREDENTIAL_KEY_FILE);
  let created = false;
  if (options.file === undefined) {
    // `wx`: a key file already there is never replaced, or the secrets it sealed would be lost.
    created = await writeFile(file, `${randomBytes(SEAL_KEY_BYTES).toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    }).then(
      () => true,
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      },
    );
  }
  let text: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0)
      throw new SluiceError(
        'InvalidArgument',
        `the credential key file ${file} may be read by others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new SluiceError('InvalidArgument', `the credential key file ${file} does not exist`);
  }
  return { keys: parseKeys(text, file), source: file, created };
}

/** Keys in base64, one a line or separated by commas; `#` starts a comment. */
function parseKeys(text: string, where: string): Buffer[] {
  const words = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(',')
    .split(/[,\s]+/)
    .filter((word) => word !== '');
  if (words.length === 0) throw new SluiceError('InvalidArgument', `${where} holds no credential key`);
  return words.map((word, i) => {
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(word) ? Buffer.from(word, 'base64') : undefined;
    if (key?.length !== SEAL_KEY_BYTES)
      throw new SluiceError(
        'InvalidArgument',
        `key ${i + 1} of ${where} is not ${SEAL_KEY_BYTES} bytes in base64 (make one with: head -c 32 /dev/urandom | base64)`,
      );
    return key;
  });
}
