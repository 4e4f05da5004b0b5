import type { RejectedEvent } from '@relay/contracts';
import { ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';
import { rejectedDelivery, type EndpointDirectory } from '@relay/webhooks';

type Subscribers = Pick<EndpointDirectory, 'subscribers' | 'ensure'>;

/**
 * Rejected events to the endpoints subscribed to `event.rejected`, after bringing the
 * directory up to the teams' current change sequences, read after the batch was fetched
 * (read-your-writes). Subscriptions to event types are fanned out by the matcher, which
 * knows the resolved contact (services/matcher/src/match.handler.ts).
 */
export async function fanOutRejected(directory: Subscribers, messages: readonly InboundMessage<RejectedEvent>[]): Promise<MessageOutcome[]> {
  await directory.ensure(messages.map((m) => m.value.team_id));
  return messages.map((m) => {
    const r = m.value;
    const outputs: OutputRecord[] = directory
      .subscribers(r.team_id, r.environment, 'event.rejected')
      .map((endpoint) => ({ topic: 'deliveries', key: endpoint.id, value: rejectedDelivery(r, endpoint.id) }));
    return ok(...outputs);
  });
}
