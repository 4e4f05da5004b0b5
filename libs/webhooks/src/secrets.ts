import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Signing secrets: `whsec_` + base64 of 24 random bytes, the Standard Webhooks format
 * (the reference `standardwebhooks` package strips the prefix and uses the bytes as the
 * HMAC key). Receivers on seed 001's scheme use the whole string as the key.
 */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** The HMAC key bytes of a Standard Webhooks secret. */
export function standardKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/**
 * DEV ONLY. Used when RELAY_WEBHOOK_SECRET_KEY is unset so `npm start` works out of the
 * box; anyone with the source can decrypt secrets encrypted with it. Services log a
 * warning at boot when they fall back to it; deployments must set the variable.
 */
export const DEV_ONLY_SECRET_KEY = createHash('sha256').update('relay-dev-only-webhook-secret-key (never use in production)').digest();

export function parseSecretKey(value: string | undefined): { key: Buffer; devOnly: boolean } {
  if (!value) return { key: DEV_ONLY_SECRET_KEY, devOnly: true };
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new Error('RELAY_WEBHOOK_SECRET_KEY must be 32 bytes');
  return { key, devOnly: false };
}

/**
 * The webhook secret key a service may run with: a real key; or, outside production, the
 * dev-only key with a warning (every service that encrypts or decrypts secrets says so).
 * In production (`NODE_ENV=production`) the dev-only key is refused: anyone with the
 * source could decrypt every stored signing secret.
 */
export function secretKeyFor(value: string | undefined, nodeEnv: string, warn: (message: string) => void): Buffer {
  const parsed = parseSecretKey(value);
  if (!parsed.devOnly) return parsed.key;
  if (nodeEnv === 'production') {
    throw new Error('RELAY_WEBHOOK_SECRET_KEY is required when NODE_ENV=production (32 bytes, hex or base64): refusing the built-in dev-only key');
  }
  warn('RELAY_WEBHOOK_SECRET_KEY is not set: webhook secrets use the DEV-ONLY key; set it in any real deployment');
  return parsed.key;
}

const VERSION = 1;

/**
 * AES-256-GCM for secrets at rest: `version(1) | iv(12) | tag(16) | ciphertext`. The
 * endpoint id is the associated data, so a ciphertext copied to another row does not
 * decrypt. Hand-rolled on node:crypto because it is ten lines of a standard construction;
 * a KMS can replace `SecretBox` behind the same two methods.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
  }

  seal(plaintext: string, aad: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, aad: string): string {
    if (sealed[0] !== VERSION) throw new Error('unknown secret encryption version');
    const iv = sealed.subarray(1, 13);
    const tag = sealed.subarray(13, 29);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
  }
}
