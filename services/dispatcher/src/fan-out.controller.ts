import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { RejectedEvent } from '@relay/contracts';
import type { InboundMessage, MessageOutcome } from '@relay/kafka';
import { EndpointDirectory } from '@relay/webhooks';
import { fanOutRejected } from './fan-out';

/**
 * Relay's `event.rejected` subscriptions: every rejected event goes to each enabled
 * endpoint of its team and environment subscribed to it. (Subscriptions to event types
 * are fanned out by the matcher, for the contact it resolved.)
 */
@Controller()
export class FanOutController {
  constructor(@Inject(EndpointDirectory) private readonly directory: EndpointDirectory) {}

  @EventPattern('rejected')
  handleRejected(messages: InboundMessage<RejectedEvent>[]): Promise<MessageOutcome[]> {
    return fanOutRejected(this.directory, messages);
  }
}
