import { coalesceBatches } from './coalesce';
import { dlq, inboundMessage, ok, type InboundMessage, type MessageOutcome } from './outcome';

const msg = (partition: number, value: string): InboundMessage<string> => inboundMessage(value, { partition });

/** A handler that records its calls and answers each message by its value ('bad' fails the call). */
function recording(hold?: Promise<void>) {
  const calls: string[][] = [];
  const handler = async (messages: InboundMessage<string>[]): Promise<MessageOutcome[]> => {
    calls.push(messages.map((m) => m.value));
    if (hold) await hold;
    if (messages.some((m) => m.value === 'bad')) throw new Error('store refused the batch');
    return messages.map((m) => (m.value.startsWith('x') ? dlq('X', m.value) : ok()));
  };
  return { calls, handler };
}

describe('coalesceBatches', () => {
  it('handles the batches of one turn as one call and gives each caller its own outcomes', async () => {
    const { calls, handler } = recording();
    const h = coalesceBatches(handler);
    const [a, b, c] = await Promise.all([h([msg(0, 'a1'), msg(0, 'x2')]), h([msg(1, 'b1')]), h([msg(2, 'x3'), msg(2, 'c2')])]);
    expect(calls).toEqual([['a1', 'x2', 'b1', 'x3', 'c2']]);
    expect(a).toEqual([ok(), dlq('X', 'x2')]);
    expect(b).toEqual([ok()]);
    expect(c).toEqual([dlq('X', 'x3'), ok()]);
  });

  it('groups the calls that arrive while one runs into the next call', async () => {
    let release!: () => void;
    const { calls, handler } = recording(new Promise<void>((r) => (release = r)));
    const h = coalesceBatches(handler);
    const first = h([msg(0, 'a')]);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([['a']]);
    const later = [h([msg(1, 'b')]), h([msg(2, 'c')])];
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(1); // waiting for the call in flight
    release();
    await first;
    await Promise.all(later);
    expect(calls).toEqual([['a'], ['b', 'c']]);
  });

  it('when the combined call fails, handles each batch alone: only the batch with the failing message fails', async () => {
    const { calls, handler } = recording();
    const h = coalesceBatches(handler);
    const [good, bad] = await Promise.allSettled([h([msg(0, 'a')]), h([msg(1, 'bad')])]);
    expect(calls).toEqual([['a', 'bad'], ['a'], ['bad']]);
    expect(good).toEqual({ status: 'fulfilled', value: [ok()] });
    expect(bad).toMatchObject({ status: 'rejected', reason: new Error('store refused the batch') });
  });

  it('never puts more than maxMessages in one call (a single larger batch still goes alone)', async () => {
    const { calls, handler } = recording();
    const h = coalesceBatches(handler, { maxMessages: 3 });
    await Promise.all([h([msg(0, 'a'), msg(0, 'b')]), h([msg(1, 'c'), msg(1, 'd')]), h([msg(2, 'e'), msg(2, 'f'), msg(2, 'g'), msg(2, 'h')])]);
    expect(calls).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f', 'g', 'h'],
    ]);
  });
});
