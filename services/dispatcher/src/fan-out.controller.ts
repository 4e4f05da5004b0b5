import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope, RejectedEvent } from '@relay/contracts';
import type { InboundMessage, MessageOutcome } from '@relay/kafka';
import { EndpointDirectory } from '@relay/webhooks';
import { fanOutRejected, fanOutValidated } from './fan-out';

/**
 * Seed 004's subscriptions: every validated event goes to each enabled endpoint of its
 * team and environment subscribed to its code_name; every rejected event to those
 * subscribed to `event.rejected`. The dispatcher's own consumer group reads these topics,
 * independent of the matcher's.
 */
@Controller()
export class FanOutController {
  constructor(@Inject(EndpointDirectory) private readonly directory: EndpointDirectory) {}

  @EventPattern('validated')
  handleValidated(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return Promise.resolve(fanOutValidated(this.directory, messages));
  }

  @EventPattern('rejected')
  handleRejected(messages: InboundMessage<RejectedEvent>[]): Promise<MessageOutcome[]> {
    return Promise.resolve(fanOutRejected(this.directory, messages));
  }
}
