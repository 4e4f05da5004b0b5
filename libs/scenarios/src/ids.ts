import { createHash } from 'node:crypto';

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/**
 * The delivery_id of one scenario action fired by one event: a UUIDv7 whose time is the
 * event's and whose other bits are a hash of (event, scenario, action). Deterministic on
 * purpose, so an event re-processed after a crash, or a scheduled action released twice,
 * yields the same id and receivers deduplicate it. Built by hand because the uuid
 * package's v7 keeps per-process monotonic state and is not meant to be reproducible.
 */
export function deliveryId(eventId: string, scenarioId: string, actionIndex: number, atMs: number): string {
  const b = digest(eventId, scenarioId, String(actionIndex));
  const ms = BigInt(Math.max(0, Math.floor(atMs)));
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = 0x70 | ((b[6] as number) & 0x0f); // version 7
  b[8] = 0x80 | ((b[8] as number) & 0x3f); // RFC 4122 variant
  const hex = b.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Where in [0, 1) a contact falls for a scenario action's delay range: the same contact
 * always gets the same point (so a re-processed event is scheduled at the same time),
 * and contacts are spread uniformly over the range.
 */
export function spreadFraction(scenarioId: string, contactId: string, actionIndex: number): number {
  return digest(scenarioId, contactId, String(actionIndex)).readUInt32BE(0) / 2 ** 32;
}
