import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { TOPICS, type TopicKey } from '@relay/contracts';
import type { BatchHandler, HandlerResult } from './outcome';
import { StageConsumer, type StageConsumerOptions } from './stage-consumer';

export type StageServerOptions = Omit<StageConsumerOptions, 'handlers' | 'seedOffsetsFrom'> & {
  /**
   * Topics consumed by a Kafka consumer of their own, in the group given here, instead of the
   * stage's main consumer (`groupId`). kafkajs fetches a broker's next batches only once every
   * batch of the current fetch is handled, so a handler that waits for records of another
   * topic (history: a validated event waiting for its outcome) must not share a consumer with
   * that topic. A split group without committed offsets starts from the main group's. Its
   * fetch settings may differ from the main consumer's (a waiting consumer needs no low latency).
   */
  ownGroups?: Partial<Record<TopicKey, OwnGroup>>;
};

export interface OwnGroup {
  groupId: string;
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
}

/**
 * NestJS transport strategy over kafkajs for Relay's consumer stages. Nest's stock Kafka
 * server hands one message at a time to a handler and commits on its own schedule; Relay
 * needs batches, offsets committed only after the output is durable, bounded work in
 * flight and a dead-letter policy — so the transport owns Kafka (StageConsumer) and
 * controllers stay plain typed batch handlers:
 *
 *   @EventPattern('ingested')
 *   handle(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]>
 *
 * (or `Promise<DeferredOutcomes>` for a handler whose effects become durable later: history).
 */
export class KafkaStageServer extends Server implements CustomTransportStrategy {
  private consumers: StageConsumer[] = [];

  constructor(private readonly options: StageServerOptions) {
    super();
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    const handlers: Partial<Record<TopicKey, BatchHandler<unknown>>> = {};
    for (const [pattern, handler] of this.messageHandlers) {
      if (!(pattern in TOPICS)) {
        throw new Error(`@EventPattern('${pattern}') is not a topic key (expected one of ${Object.keys(TOPICS).join(', ')})`);
      }
      handlers[pattern as TopicKey] = async (messages) => {
        const result: unknown = await handler(messages);
        return lastValueFrom(this.transformToObservable(result)) as Promise<HandlerResult>;
      };
    }
    if (Object.keys(handlers).length === 0) {
      // A stage without @EventPattern handlers has nothing to consume yet.
      callback();
      return;
    }
    const { ownGroups = {}, ...options } = this.options;
    const byGroup = new Map<string, { own?: OwnGroup; handlers: Partial<Record<TopicKey, BatchHandler<unknown>>> }>();
    for (const [key, handler] of Object.entries(handlers) as [TopicKey, BatchHandler<unknown>][]) {
      const own = ownGroups[key];
      const groupId = own?.groupId ?? options.groupId;
      const group = byGroup.get(groupId) ?? { ...(own ? { own } : {}), handlers: {} };
      group.handlers[key] = handler;
      byGroup.set(groupId, group);
    }
    this.consumers = [...byGroup].map(([groupId, { own, handlers: groupHandlers }]) => {
      if (!own) return new StageConsumer({ ...options, groupId, handlers: groupHandlers });
      const { fetchMinBytes, fetchMaxWaitMs } = own;
      return new StageConsumer({
        ...options,
        groupId,
        handlers: groupHandlers,
        seedOffsetsFrom: options.groupId,
        ...(fetchMinBytes !== undefined ? { fetchMinBytes } : {}),
        ...(fetchMaxWaitMs !== undefined ? { fetchMaxWaitMs } : {}),
      });
    });
    try {
      await Promise.all(this.consumers.map((c) => c.start()));
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Readiness: resolves while every consumer of the stage is in its group (or the stage has none). */
  async assertConsuming(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.assertRunning()));
  }

  async close(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((c) => c.stop()));
  }

  on(): void {
    // Events of the underlying client are logged by the consumer itself.
  }

  /** The stage's consumers (one per consumer group). */
  unwrap<T>(): T {
    return this.consumers as T;
  }
}
