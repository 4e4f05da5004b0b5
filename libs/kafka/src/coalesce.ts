import type { BatchHandler, InboundMessage, MessageOutcome } from './outcome';

interface Call<T> {
  messages: InboundMessage<T>[];
  resolve: (outcomes: MessageOutcome[]) => void;
  reject: (error: unknown) => void;
}

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
 *
 * Hand-written: grouping concurrent calls by the in-flight call (not by a timer) is what
 * DataLoader does per event-loop turn only; a stage needs the in-flight grouping too.
 */
export function coalesceBatches<T>(handler: BatchHandler<T>, options: CoalesceOptions = {}): BatchHandler<T> {
  const maxMessages = options.maxMessages ?? 2000;
  const queue: Call<T>[] = [];
  let running = false;

  const runAlone = (call: Call<T>) => handler(call.messages).then(call.resolve, call.reject);

  async function pump(): Promise<void> {
    try {
      while (queue.length > 0) {
        const group: Call<T>[] = [];
        let size = 0;
        while (queue.length > 0 && (group.length === 0 || size + queue[0]!.messages.length <= maxMessages)) {
          const call = queue.shift()!;
          group.push(call);
          size += call.messages.length;
        }
        if (group.length === 1) {
          await runAlone(group[0]!);
          continue;
        }
        let outcomes: MessageOutcome[];
        try {
          outcomes = await handler(group.flatMap((c) => c.messages));
          if (outcomes.length !== size) throw new Error(`handler returned ${outcomes.length} outcomes for ${size} messages`);
        } catch {
          for (const call of group) await runAlone(call);
          continue;
        }
        let at = 0;
        for (const call of group) {
          call.resolve(outcomes.slice(at, at + call.messages.length));
          at += call.messages.length;
        }
      }
    } finally {
      running = false;
    }
  }

  return (messages) =>
    new Promise<MessageOutcome[]>((resolve, reject) => {
      queue.push({ messages, resolve, reject });
      if (running) return;
      running = true;
      // The other batches of the fetch arrive within this turn: start once they are queued.
      setImmediate(() => void pump());
    });
}
