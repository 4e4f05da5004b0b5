import type { EventEnvelope, RejectedEvent } from '@relay/contracts';
import { ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';
import { rejectedDelivery, subscriptionDelivery, type EndpointDirectory } from '@relay/webhooks';

type Subscribers = Pick<EndpointDirectory, 'subscribers'>;

/** One `subscription` delivery per subscribed endpoint, keyed by endpoint (its lane). */
export function fanOutValidated(directory: Subscribers, messages: readonly InboundMessage<EventEnvelope>[]): MessageOutcome[] {
  return messages.map((m) => {
    const e = m.value;
    const outputs: OutputRecord[] = directory
      .subscribers(e.team_id, e.environment, e.code_name)
      .map((endpoint) => ({ topic: 'deliveries', key: endpoint.id, value: subscriptionDelivery(e, endpoint.id) }));
    return ok(...outputs);
  });
}

export function fanOutRejected(directory: Subscribers, messages: readonly InboundMessage<RejectedEvent>[]): MessageOutcome[] {
  return messages.map((m) => {
    const r = m.value;
    const outputs: OutputRecord[] = directory
      .subscribers(r.team_id, r.environment, 'event.rejected')
      .map((endpoint) => ({ topic: 'deliveries', key: endpoint.id, value: rejectedDelivery(r, endpoint.id) }));
    return ok(...outputs);
  });
}
