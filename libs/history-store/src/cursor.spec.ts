import { decodeCursor, encodeCursor } from './cursor';
import { HistoryValidationError } from './types';

describe('history cursor', () => {
  it('round-trips', () => {
    const c = { receivedAtMs: 1_790_000_000_123, eventId: '0192f1c2-7a3b-7c4d-8e5f-60718293a4b5' };
    const s = encodeCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(s)).toEqual(c);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['not json', Buffer.from('nope').toString('base64url')],
    ['wrong version', Buffer.from(JSON.stringify({ v: 2, r: 1, e: 'x' })).toString('base64url')],
    ['negative time', Buffer.from(JSON.stringify({ v: 1, r: -1, e: 'x' })).toString('base64url')],
    ['fractional time', Buffer.from(JSON.stringify({ v: 1, r: 1.5, e: 'x' })).toString('base64url')],
    ['empty id', Buffer.from(JSON.stringify({ v: 1, r: 1, e: '' })).toString('base64url')],
    ['too long', 'a'.repeat(2000)],
  ])('rejects %s', (_label, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(HistoryValidationError);
  });
});
