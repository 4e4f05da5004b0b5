import { ok, type MessageOutcome } from './outcome';
import { handleIsolatingPoison, type IsolationOptions } from './poison';

const noSleep: Pick<IsolationOptions, 'sleep'> = { sleep: () => Promise.resolve() };
const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

class StoreDown extends Error {
  readonly code = 'ECONNREFUSED';
}

/** A handler that throws on any batch containing one of `poison`, and records every call. */
function handlerWithPoison(poison: number[]) {
  const calls: number[][] = [];
  const handler = (messages: number[]): Promise<MessageOutcome[]> => {
    calls.push(messages);
    const bad = messages.find((m) => poison.includes(m));
    if (bad !== undefined) return Promise.reject(Object.assign(new TypeError(`cannot read field of ${bad}`), { code: 'BAD_ROW' }));
    return Promise.resolve(messages.map(() => ok()));
  };
  return { handler, calls };
}

describe('handleIsolatingPoison', () => {
  it('passes a healthy batch through in one call', async () => {
    const { handler, calls } = handlerWithPoison([]);
    const result = await handleIsolatingPoison(handler, ids(10), { attempts: 3, ...noSleep });
    expect(result).toEqual({ kind: 'done', outcomes: ids(10).map(() => ok()), poison: 0 });
    expect(calls).toHaveLength(1);
  });

  it('retries a transient failure of the whole batch without dead-lettering anything', async () => {
    let failures = 2;
    const handler = (messages: number[]) => (failures-- > 0 ? Promise.reject(new StoreDown('down')) : Promise.resolve(messages.map(() => ok())));
    const result = await handleIsolatingPoison(handler, ids(4), { attempts: 3, ...noSleep });
    expect(result).toEqual({ kind: 'done', outcomes: ids(4).map(() => ok()), poison: 0 });
  });

  it('dead-letters only the message that fails while its neighbours succeed, with code, message and attempts', async () => {
    const { handler, calls } = handlerWithPoison([5, 11]);
    const failures: number[] = [];
    const result = await handleIsolatingPoison(handler, ids(16), {
      attempts: 3,
      ...noSleep,
      onFailure: ({ size }) => void failures.push(size),
    });
    expect(result.kind).toBe('done');
    if (result.kind !== 'done') return;
    expect(result.poison).toBe(2);
    result.outcomes.forEach((o, i) => {
      if (i === 5 || i === 11) {
        expect(o).toMatchObject({ kind: 'dlq', code: 'HANDLER_FAILED', attempts: 5, errorCode: 'BAD_ROW' });
        expect((o as { reason: string }).reason).toContain(`cannot read field of ${i}`);
      } else {
        expect(o).toEqual(ok());
      }
    });
    // Every good message got its outcome from a call without the poison ones, in order.
    const succeeded = calls.filter((c) => !c.includes(5) && !c.includes(11)).flat();
    expect(new Set(succeeded)).toEqual(new Set(ids(16).filter((i) => i !== 5 && i !== 11)));
    // Bisection, not every message on its own: fewer calls than 16 messages × 3 attempts.
    expect(calls.length).toBeLessThan(32);
    expect(failures.length).toBeGreaterThan(0);
  });

  it('never dead-letters when every message fails (a store is down): the batch is stalled', async () => {
    const calls: number[][] = [];
    const handler = (messages: number[]) => {
      calls.push(messages);
      return Promise.reject(new StoreDown('connect ECONNREFUSED 127.0.0.1:5432'));
    };
    const result = await handleIsolatingPoison(handler, ids(8), { attempts: 2, ...noSleep });
    expect(result).toMatchObject({ kind: 'stalled', error: expect.any(StoreDown) });
  });

  it('a lone failing message has no neighbour to compare with: stalled, not dead-lettered', async () => {
    const { handler } = handlerWithPoison([0]);
    const result = await handleIsolatingPoison(handler, [0], { attempts: 3, ...noSleep });
    expect(result).toMatchObject({ kind: 'stalled', attempts: 3 });
  });

  it('does not dead-letter when the store goes down in the middle of the search', async () => {
    // The first half succeeds, then the store is down for good: the messages tried after it
    // went down fail alone, but the succeeded neighbour fails too when checked again.
    let healthyCalls = 0;
    const handler = (messages: number[]) => {
      if (messages.length === 8) return Promise.reject(new StoreDown('blip'));
      if (healthyCalls++ < 1) return Promise.resolve(messages.map(() => ok()));
      return Promise.reject(new StoreDown('down'));
    };
    const result = await handleIsolatingPoison(handler, ids(8), { attempts: 2, ...noSleep });
    expect(result.kind).toBe('stalled');
  });

  it('does not dead-letter when the store comes back in the middle of the search', async () => {
    // Down for the whole-batch tries and most of the search, up for the rest: the first
    // three messages failed alone, but succeed when tried again after their neighbour.
    let calls = 0;
    const handler = (messages: number[]) => (++calls <= 7 ? Promise.reject(new StoreDown('down')) : Promise.resolve(messages.map(() => ok())));
    const result = await handleIsolatingPoison(handler, ids(4), { attempts: 2, ...noSleep });
    expect(result).toEqual({ kind: 'done', outcomes: ids(4).map(() => ok()), poison: 0 });
  });

  it('gives up the search after O(log n) failures in a row when nothing succeeds: an outage costs few calls', async () => {
    const calls: number[][] = [];
    const handler = (messages: number[]) => {
      calls.push(messages);
      return Promise.reject(new StoreDown('down'));
    };
    const result = await handleIsolatingPoison(handler, ids(512), { attempts: 3, ...noSleep });
    expect(result.kind).toBe('stalled');
    // 3 tries of the whole chunk, then at most 2·log2(512)+2 = 20 calls of the search.
    expect(calls.length).toBeLessThanOrEqual(3 + 20);
  });

  it('waits with backoff between tries and stops retrying once the consumer stops', async () => {
    const slept: number[] = [];
    let running = true;
    const handler = () => {
      running = slept.length < 2;
      return Promise.reject(new StoreDown('down'));
    };
    const result = await handleIsolatingPoison(handler, ids(4), {
      attempts: 10,
      backoffMs: (n) => n * 100,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
      isRunning: () => running,
    });
    expect(result.kind).toBe('stalled');
    expect(slept).toEqual([100, 200]);
  });
});
