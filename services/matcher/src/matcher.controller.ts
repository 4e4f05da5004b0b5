import { Controller } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope } from '@relay/contracts';
import { ok, type InboundMessage, type MessageOutcome } from '@relay/kafka';

/**
 * The matcher stage's consumer of validated events. Scenarios (subscriptions by
 * code_name, filters, cooldowns, delayed actions) are not modelled yet, so every
 * validated event matches nothing and produces no delivery; the stage still consumes,
 * counts and commits so its lag and health are real from day one.
 */
@Controller()
export class MatcherController {
  @EventPattern('validated')
  async match(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return messages.map(() => ok());
  }
}
