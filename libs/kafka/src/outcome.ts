import type { TopicKey, TopicValue } from '@relay/contracts';

/** A record a stage wants written; the consumer runner encodes and produces it. */
export interface OutputRecord<K extends TopicKey = TopicKey> {
  topic: K;
  key: string | null;
  value: TopicValue<K>;
  headers?: Record<string, string>;
}

/**
 * What a stage decided for one consumed message. The runner turns it into Kafka writes
 * and commits the offset only after they are acknowledged.
 * - ok:   processed; `outputs` (possibly none) are produced before the offset is committed.
 * - dlq:  cannot be processed, ever (poison); goes to the dead-letter topic with the reason
 *         (`attempts` and the thrown `errorCode` when the runner isolated a record that
 *         made the handler throw).
 * - drop: deliberately ignored (e.g. a duplicate), counted and logged, nothing produced.
 */
export type MessageOutcome =
  | { kind: 'ok'; outputs: OutputRecord[] }
  | { kind: 'dlq'; code: string; reason: string; attempts?: number; errorCode?: string }
  | { kind: 'drop'; reason: string };

export const ok = (...outputs: OutputRecord[]): MessageOutcome => ({ kind: 'ok', outputs });
export const dlq = (code: string, reason: string): MessageOutcome => ({ kind: 'dlq', code, reason });
export const drop = (reason: string): MessageOutcome => ({ kind: 'drop', reason });

/** A consumed, decoded message handed to a stage's handler. */
export interface InboundMessage<T> {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
  schemaId: number;
  value: T;
}

/**
 * A message as a stage's handler receives it, built outside a consumer (specs, tools calling
 * a handler directly): the fields Kafka fills get neutral values unless given.
 */
export function inboundMessage<T>(value: T, fields: Partial<Omit<InboundMessage<T>, 'value'>> = {}): InboundMessage<T> {
  return { topic: 't', partition: 0, offset: '0', key: null, headers: {}, timestamp: '0', schemaId: 1, ...fields, value };
}

/**
 * Outcomes whose effects become durable later, e.g. rows a store writes in time-window
 * batches. The runner produces the outputs and dead letters at once, goes on with the
 * partition's next chunk without waiting, and commits these offsets only once `durable`
 * resolves (in partition order). If `durable` rejects, the partition is rewound to the chunk
 * and read again after a backoff: its effects may then happen twice, which the handler's
 * store must absorb (at-least-once, as for any redelivery).
 */
export interface DeferredOutcomes {
  readonly outcomes: MessageOutcome[];
  readonly durable: Promise<void>;
}

export function deferred(outcomes: MessageOutcome[], durable: Promise<void>): DeferredOutcomes {
  // The runner acts on a rejection when it comes; until it looks, it is not an unhandled one.
  durable.catch(() => undefined);
  return { outcomes, durable };
}

/** What a handler returns: one outcome per message, in the same order, durable now or {@link DeferredOutcomes later}. */
export type HandlerResult = MessageOutcome[] | DeferredOutcomes;

/** A stage's handler: one outcome per message, in the same order. Pure of Kafka. */
export type BatchHandler<T> = (messages: InboundMessage<T>[]) => Promise<HandlerResult>;

/** A handler whose outcomes are durable when it returns (the validator's, the matcher's). */
export type DurableBatchHandler<T> = (messages: InboundMessage<T>[]) => Promise<MessageOutcome[]>;
