import type { MessageOutcome } from './outcome';

export interface IsolationOptions {
  /** Tries of the whole set, and of each single message, before it counts as failing. */
  attempts: number;
  /** Pause before retry number `attempt` (1-based count of failures so far). */
  backoffMs?: (attempt: number) => number;
  /** Called after every failed handler call (logging, metrics, consumer heartbeat). */
  onFailure?: (failure: { error: unknown; size: number; attempt: number }) => Promise<void> | void;
  /** False once the consumer is stopping: remaining retries are abandoned (nothing is dead-lettered). */
  isRunning?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * What came of handing a chunk to its handler:
 * - done: one outcome per message; the poison ones (if any) are `dlq` with HANDLER_FAILED.
 * - stalled: nothing could be shown to work (every call failed, e.g. a store is down, or a
 *   lone message has no neighbour to compare with): the caller leaves the chunk uncommitted
 *   and retries later. Nothing is dead-lettered in that case.
 */
export type IsolationResult = { kind: 'done'; outcomes: MessageOutcome[]; poison: number } | { kind: 'stalled'; error: unknown; attempts: number };

export const defaultBackoff = (attempt: number): number => Math.min(5000, 200 * 2 ** (attempt - 1));

/**
 * Runs a batch handler so that one message that always makes it throw (a poison record)
 * cannot block its partition, while an outage of a store (every message throws) never
 * dead-letters anything.
 *
 * 1. The whole set is tried up to `attempts` times with backoff: transient errors pass here.
 * 2. Still failing: the set is bisected, each part tried once; a part that succeeds keeps
 *    its outcomes, a part that fails is split again, down to single messages. Failures in
 *    a row are bounded (O(log n)): past the bound, no success so far or a succeeded
 *    neighbour failing again means the store is down → stalled.
 * 3. A single message is poison only if it kept failing while a neighbour succeeded, and it
 *    fails once more right after that neighbour succeeds again (so the store neither went
 *    down nor came back in the middle of the search). If nothing succeeded, or the
 *    neighbour fails on that last check, the result is `stalled`.
 *
 * Handlers are idempotent (delivery is at-least-once), so calling one again on messages
 * that already succeeded is safe; the outcomes of the last successful call are kept.
 */
export async function handleIsolatingPoison<M>(
  handler: (messages: M[]) => Promise<MessageOutcome[]>,
  messages: M[],
  options: IsolationOptions,
): Promise<IsolationResult> {
  const attempts = Math.max(1, options.attempts);
  const backoff = options.backoffMs ?? defaultBackoff;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const running = options.isRunning ?? (() => true);

  const tryUpTo = async (group: M[], tries: number): Promise<{ ok: true; outcomes: MessageOutcome[] } | { ok: false; error: unknown; tries: number }> => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        const outcomes = await handler(group);
        return { ok: true, outcomes };
      } catch (error) {
        lastError = error;
        await options.onFailure?.({ error, size: group.length, attempt });
        if (attempt < tries && running()) await sleep(backoff(attempt));
        if (!running()) return { ok: false, error, tries: attempt };
      }
    }
    return { ok: false, error: lastError, tries };
  };

  const whole = await tryUpTo(messages, attempts);
  if (whole.ok) return { kind: 'done', outcomes: whole.outcomes, poison: 0 };
  if (messages.length === 1 || !running()) return { kind: 'stalled', error: whole.error, attempts: whole.tries };

  const outcomes: (MessageOutcome | undefined)[] = messages.map(() => undefined);
  const suspects: { index: number; error: unknown; tries: number }[] = [];
  // A message that succeeded during the search (kept in an object: closures assign it).
  const seen: { witness: M | undefined } = { witness: undefined };
  let lastError: unknown = whole.error;
  // Bound on failed calls in a row before the search asks whether the store is down: no
  // success yet, or the witness failing again, ends it (stalled) — an outage costs
  // O(log n) quick calls, not one per message. A run of poison records longer than that
  // at the head of a chunk with no success yet is taken for an outage: it stays
  // uncommitted and the next round (more records behind it) finds a witness sooner.
  const budget = 2 * Math.ceil(Math.log2(messages.length)) + 2;
  let failuresInRow = 0;
  let storeDown = false;

  const isolate = async (from: number, to: number): Promise<void> => {
    if (!running() || storeDown) return;
    const group = messages.slice(from, to);
    const tried = await tryUpTo(group, 1);
    if (tried.ok) {
      tried.outcomes.forEach((o, i) => (outcomes[from + i] = o));
      seen.witness = messages[from];
      failuresInRow = 0;
      return;
    }
    lastError = tried.error;
    if (++failuresInRow >= budget) {
      const check = seen.witness === undefined ? null : await tryUpTo([seen.witness], 1);
      if (!check?.ok) {
        storeDown = true;
        return;
      }
      failuresInRow = 0;
    }
    if (group.length === 1) {
      suspects.push({ index: from, error: tried.error, tries: attempts + 1 });
      return;
    }
    const mid = from + Math.ceil((to - from) / 2);
    await isolate(from, mid);
    await isolate(mid, to);
  };
  // The whole set already failed: the search starts with its halves.
  const half = Math.ceil(messages.length / 2);
  await isolate(0, half);
  await isolate(half, messages.length);

  if (storeDown || seen.witness === undefined || !running() || outcomes.some((o, i) => o === undefined && !suspects.some((s) => s.index === i))) {
    return { kind: 'stalled', error: lastError, attempts };
  }
  if (suspects.length === 0) return { kind: 'done', outcomes: outcomes as MessageOutcome[], poison: 0 };
  // Confirm each suspect against a neighbour that worked, right before and right after:
  // - the neighbour fails now: the store went away during the search and the suspects are
  //   merely the messages tried after it did → stalled;
  // - the suspect works now: the store came back during the search → its outcome is kept.
  const confirmed: typeof suspects = [];
  for (const suspect of suspects) {
    const check = await tryUpTo([seen.witness], 1);
    if (!check.ok) return { kind: 'stalled', error: check.error, attempts };
    const again = await tryUpTo([messages[suspect.index] as M], 1);
    if (again.ok) {
      outcomes[suspect.index] = again.outcomes[0];
      continue;
    }
    confirmed.push({ ...suspect, tries: suspect.tries + 1 });
  }

  for (const s of confirmed) {
    const err = s.error as { code?: unknown; message?: unknown } | null;
    const errorCode = typeof err?.code === 'string' || typeof err?.code === 'number' ? String(err.code) : 'ERROR';
    const message = err && typeof err.message === 'string' ? err.message : String(s.error);
    outcomes[s.index] = {
      kind: 'dlq',
      code: 'HANDLER_FAILED',
      reason: `handler threw ${errorCode}: ${message} (${s.tries} attempts, while its neighbours succeeded)`,
      attempts: s.tries,
      errorCode,
    };
  }
  return { kind: 'done', outcomes: outcomes as MessageOutcome[], poison: confirmed.length };
}
