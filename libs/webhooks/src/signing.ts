import { createHmac, timingSafeEqual } from 'node:crypto';
import { standardKey } from './secrets';

export type SignatureScheme = 'standard' | 'shopimind';

/**
 * Headers that sign one request body. Several secrets (a rotation in its overlap window)
 * give several signatures: Standard Webhooks lists them space-separated in one header;
 * seed 001's scheme has one value per header, so the newest secret signs
 * `X-Shopimind-Signature` and the previous one `X-Shopimind-Signature-Previous`.
 */
export function signatureHeaders(
  scheme: SignatureScheme,
  input: { id: string; timestampSeconds: number; body: string; secrets: readonly string[] },
): Record<string, string> {
  const ts = String(input.timestampSeconds);
  switch (scheme) {
    case 'standard':
      return {
        'webhook-id': input.id,
        'webhook-timestamp': ts,
        'webhook-signature': input.secrets
          .map((s) => `v1,${createHmac('sha256', standardKey(s)).update(`${input.id}.${ts}.${input.body}`).digest('base64')}`)
          .join(' '),
      };
    case 'shopimind': {
      const [current, previous] = input.secrets.map((s) => createHmac('sha256', s).update(`${ts}.${input.body}`).digest('hex'));
      return {
        'webhook-id': input.id,
        'x-shopimind-timestamp': ts,
        'x-shopimind-signature': current ?? '',
        ...(previous ? { 'x-shopimind-signature-previous': previous } : {}),
      };
    }
  }
}

/**
 * Receiver-side check of seed 001's scheme (Standard Webhooks receivers should use the
 * `standardwebhooks` package). Constant-time compare; rejects timestamps outside the
 * tolerance (default 5 minutes) to stop replays.
 */
export function verifyShopimindSignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
