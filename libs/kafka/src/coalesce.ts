import { GroupedCalls } from './grouped-calls';
import type { DurableBatchHandler, InboundMessage, MessageOutcome } from './outcome';

export interface CoalesceOptions {
  /** Messages handled in one call at most. Default 2000. */
  maxMessages?: number;
}

/**
 * Wraps a stage handler so that the calls of one fetch are handled together. A consumer
 * works on the batches of up to six partitions at once and calls its handler once per
 * batch; a handler with a fixed cost per call (a PostgreSQL transaction, a read of the
 * team-change sequences) pays it six times per fetch. Here the calls that arrive in the
 * same turn of the event loop, or while a call is running, are handled as one call, their
 * messages concatenated in arrival order (each batch is one partition, so events of one key
 * stay in order), and each caller gets back the outcomes of its own messages.
 *
 * Only for handlers that treat a batch as a list of independent messages (no waiting on
 * other records, unlike history's outcome wait). When a combined call throws, each call is
 * handled again on its own, so every caller gets the answer its own messages earn: the
 * stage consumer's retries and poison bisection keep working on one batch's messages.
 * The grouping is {@link GroupedCalls}'s.
 */
export function coalesceBatches<T>(handler: DurableBatchHandler<T>, options: CoalesceOptions = {}): DurableBatchHandler<T> {
  const calls = new GroupedCalls<InboundMessage<T>[], MessageOutcome[]>({
    units: (messages) => messages.length,
    maxUnits: options.maxMessages ?? 2000,
    // The other batches of the fetch arrive within this turn: start once they are queued.
    startNextTurn: true,
    aloneAfter: () => true,
    run: async (batches) => {
      if (batches.length === 1) return [await handler(batches[0]!)];
      const size = batches.reduce((n, b) => n + b.length, 0);
      const outcomes = await handler(batches.flat());
      if (outcomes.length !== size) throw new Error(`handler returned ${outcomes.length} outcomes for ${size} messages`);
      let at = 0;
      return batches.map((b) => outcomes.slice(at, (at += b.length)));
    },
  });
  return (messages) => calls.call(messages);
}
