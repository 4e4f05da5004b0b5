import { HistoryValidationError, type EventHistoryInput, type HistoryWriter } from '@relay/history-store';
import { OutcomeWait } from './outcome-wait';

const row = (event_id: string): EventHistoryInput => ({
  event_id,
  team_id: 't1',
  environment: 'production',
  code_name: 'store_purchase',
  dialect: 'shopimind',
  status: 'validated',
  payload: '{}',
  received_at: 1_700_000_000_000,
});

/** A writer that records what it was given; `flush` resolves or rejects as told. */
function fakeWriter(opts: { refuse?: string; flushError?: Error } = {}) {
  const added: string[] = [];
  let flushes = 0;
  const writer = {
    add(r: EventHistoryInput) {
      if (r.event_id === opts.refuse) throw new HistoryValidationError('INVALID_ROW', `refused ${r.event_id}`);
      added.push(r.event_id);
    },
    flush() {
      flushes++;
      return opts.flushError ? Promise.reject(opts.flushError) : Promise.resolve();
    },
  };
  return { writer: writer as unknown as HistoryWriter, added, flushes: () => flushes };
}

describe('OutcomeWait: one history row per event', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('writes no validated row when the outcome becomes durable during the wait', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    const held = wait.hold([row('e1'), row('e2')]);
    expect(wait.waiting).toBe(2);
    wait.settle([
      { team_id: 't1', event_id: 'e1' },
      { team_id: 't1', event_id: 'e2' },
    ]);
    await expect(held).resolves.toEqual([
      { kind: 'ok', outputs: [] },
      { kind: 'ok', outputs: [] },
    ]);
    await jest.advanceTimersByTimeAsync(2000);
    expect(w.added).toEqual([]);
    expect(wait.waiting).toBe(0);
  });

  it('writes and flushes the validated row of an event the matcher did not decide in time, then resolves', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    let done = false;
    const held = wait.hold([row('e1'), row('e2')]).then((o) => ((done = true), o));
    wait.settle([{ team_id: 't1', event_id: 'e2' }]);
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await expect(held).resolves.toHaveLength(2);
    expect(w.added).toEqual(['e1']);
    expect(w.flushes()).toBe(1);
  });

  it('writes nothing for a validated record arriving after its outcome is durable', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    wait.settle([{ team_id: 't1', event_id: 'e1' }]);
    await expect(wait.hold([row('e1')])).resolves.toEqual([{ kind: 'ok', outputs: [] }]);
    expect(wait.waiting).toBe(0);
    expect(w.added).toEqual([]);
  });

  it('forgets the oldest settled events beyond rememberMax (their late copies wait again)', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 2 });
    wait.settle(['e1', 'e2', 'e3'].map((event_id) => ({ team_id: 't1', event_id })));
    const held = wait.hold([row('e1'), row('e3')]);
    expect(wait.waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    await held;
    expect(w.added).toEqual(['e1']);
  });

  it('counts an event settled again as recent: the least recently settled one is forgotten', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 2 });
    for (const id of ['e1', 'e2', 'e1', 'e3']) wait.settle([{ team_id: 't1', event_id: id }]);
    const held = wait.hold([row('e1'), row('e2'), row('e3')]);
    expect(wait.waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    await held;
    expect(w.added).toEqual(['e2']);
  });

  it('rejects when the validated rows cannot be flushed, so the chunk is not committed', async () => {
    const w = fakeWriter({ flushError: new Error('store down') });
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    const held = wait.hold([row('e1')]);
    const check = expect(held).rejects.toThrow('store down');
    await jest.advanceTimersByTimeAsync(1000);
    await check;
  });

  it('dead-letters a row the store refuses and still writes the others', async () => {
    const w = fakeWriter({ refuse: 'bad' });
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    const held = wait.hold([row('bad'), row('e1')]);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(held).resolves.toEqual([
      { kind: 'dlq', code: 'INVALID_ROW', reason: 'refused bad' },
      { kind: 'ok', outputs: [] },
    ]);
    expect(w.added).toEqual(['e1']);
  });

  it('copies of one event in flight share the wait and the row', async () => {
    const w = fakeWriter();
    const wait = new OutcomeWait(w.writer, { waitMs: 1000, rememberMax: 10 });
    const first = wait.hold([row('e1')]);
    const second = wait.hold([row('e1')]);
    expect(wait.waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    await Promise.all([first, second]);
    expect(w.added).toEqual(['e1']);
  });
});
