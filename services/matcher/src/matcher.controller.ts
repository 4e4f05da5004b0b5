import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { MatcherConfig } from '@relay/config';
import type { EventEnvelope } from '@relay/contracts';
import { TeamChanges } from '@relay/control-plane';
import { coalesceBatches, type InboundMessage, type MessageOutcome } from '@relay/kafka';
import { RelayMetrics } from '@relay/observability';
import { ContactResolver, MatchStore, ScenarioCache } from '@relay/scenarios';
import { EndpointDirectory, type WebhookEndpoint } from '@relay/webhooks';
import { createMatchHandler } from './match.handler';
import { MATCHER_CONFIG } from './tokens';

/** The matcher stage's consumer of validated events (see match.handler.ts). */
@Controller()
export class MatcherController {
  private readonly handler: (messages: InboundMessage<EventEnvelope>[]) => Promise<MessageOutcome[]>;

  constructor(
    @Inject(MATCHER_CONFIG) config: Readonly<MatcherConfig>,
    @Inject(TeamChanges) changes: TeamChanges,
    @Inject(ScenarioCache) scenarios: ScenarioCache,
    @Inject(ContactResolver) contacts: ContactResolver,
    @Inject(MatchStore) store: MatchStore,
    @Inject(EndpointDirectory) subscriptions: EndpointDirectory<WebhookEndpoint>,
    @Inject(RelayMetrics) metrics: RelayMetrics,
  ) {
    // The batches of one fetch (up to six partitions) share one pass: one read of the team
    // sequences and one PostgreSQL transaction instead of one per partition.
    this.handler = coalesceBatches(
      createMatchHandler({
        changes,
        scenarios,
        contacts,
        store,
        subscriptions,
        delayScale: config.RELAY_DELAY_SCALE,
        count: (outcome, details) => {
          metrics.matcherEvents.inc({ outcome });
          for (const d of details) metrics.scenarioVerdicts.inc({ outcome: d.outcome });
        },
      }),
    );
  }

  @EventPattern('validated')
  match(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return this.handler(messages);
  }
}
