import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { WebhookDelivery } from '@relay/contracts';
import { type InboundMessage, type MessageOutcome, ok } from '@relay/kafka';
import { DeliveryEngine } from '@relay/webhooks';

/**
 * Every delivery, whatever its kind (subscription, scenario_action from the matcher,
 * relay). The handler only waits for the chunk to be durably accepted in PostgreSQL (one
 * INSERT), never for an HTTP call: offsets are committed after that, and sending happens
 * in per-endpoint lanes, so a slow endpoint cannot hold the partition.
 */
@Controller()
export class DeliveriesController {
  constructor(@Inject(DeliveryEngine) private readonly engine: DeliveryEngine) {}

  @EventPattern('deliveries')
  async handle(messages: InboundMessage<WebhookDelivery>[]): Promise<MessageOutcome[]> {
    await this.engine.accept(messages.map((m) => m.value));
    return messages.map(() => ok());
  }
}
