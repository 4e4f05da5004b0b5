import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { TOPICS, type TopicKey } from '@relay/contracts';
import type { BatchHandler, MessageOutcome } from './outcome';
import { StageConsumer, type StageConsumerOptions } from './stage-consumer';

export type StageServerOptions = Omit<StageConsumerOptions, 'handlers'>;

/**
 * NestJS transport strategy over kafkajs for Relay's consumer stages. Nest's stock Kafka
 * server hands one message at a time to a handler and commits on its own schedule; Relay
 * needs batches, offsets committed only after the output is durable, bounded work in
 * flight and a dead-letter policy — so the transport owns Kafka (StageConsumer) and
 * controllers stay plain typed batch handlers:
 *
 *   @EventPattern('ingested')
 *   handle(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]>
 */
export class KafkaStageServer extends Server implements CustomTransportStrategy {
  private consumer: StageConsumer | null = null;

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
        return lastValueFrom(this.transformToObservable(result)) as Promise<MessageOutcome[]>;
      };
    }
    if (Object.keys(handlers).length === 0) {
      // A stage without @EventPattern handlers has nothing to consume yet.
      callback();
      return;
    }
    this.consumer = new StageConsumer({ ...this.options, handlers });
    try {
      await this.consumer.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Readiness: resolves while the stage's consumer is in its group (or the stage has none). */
  async assertConsuming(): Promise<void> {
    await this.consumer?.assertRunning();
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }

  on(): void {
    // Events of the underlying client are logged by the consumer itself.
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }
}
