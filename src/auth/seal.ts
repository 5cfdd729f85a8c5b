import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SluiceError } from '../core/errors.js';

/** AES-256 takes a key of 32 bytes. */
export const SEAL_KEY_BYTES = 32;
const IV_BYTES = 12;
/** The whole GCM tag, always: a shorter one that Node would accept is easier to forge. */
const TAG_BYTES = 16;
const FORMAT = 'v1';

/** A short name for a key, kept beside what it sealed: tells which key opens it without revealing the key. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update('sluice-credential-key\n').update(key).digest('hex').slice(0, 16);
}

/**
 * Seals and opens access-key secrets with the server's keys (AES-256-GCM), so that a reader of the database
 * gets no working credential. The first key seals; every key opens what it sealed, which is how the key is
 * rotated (README, "Rotating the credential key"). A sealed secret is bound to its access key's id: copied
 * to another row, it does not open.
 */
export class Sealer {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: string;

  constructor(keys: readonly Buffer[]) {
    const first = keys[0];
    if (first === undefined) throw new Error('a sealer needs at least one key');
    for (const key of keys)
      if (key.length !== SEAL_KEY_BYTES) throw new Error(`a credential key has ${SEAL_KEY_BYTES} bytes`);
    this.current = keyFingerprint(first);
    this.keys = new Map(keys.map((key) => [keyFingerprint(key), key]));
  }

  /** `v1.<key fingerprint>.<iv>.<ciphertext>.<tag>`, base64url. */
  seal(secret: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current) as Buffer, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [FORMAT, this.current, iv, sealed, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Whether `sealed` was sealed with another key than the one that seals now. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current;
  }

  /** Throws InternalError, saying why, for what no key of this server opens. */
  unseal(sealed: string, boundTo: string): string {
    const [format, fingerprint, iv, data, tag, ...rest] = sealed.split('.');
    if (format !== FORMAT || rest.length > 0 || !fingerprint || !iv || data === undefined || !tag)
      throw new SluiceError(
        'InternalError',
        `the secret of access key ${boundTo} is not in a form Sluice seals`,
      );
    const key = this.keys.get(fingerprint);
    if (!key)
      throw new SluiceError(
        'InternalError',
        `the secret of access key ${boundTo} was sealed with credential key ${fingerprint}, which this node does not have: every node needs the same keys (--credential-key-file or SLUICE_CREDENTIAL_KEY)`,
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SluiceError(
        'InternalError',
        `the sealed secret of access key ${boundTo} does not open: it was altered`,
      );
    }
  }
}
