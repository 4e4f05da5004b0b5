import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope, EventOutcome, RejectedEvent, WebhookAttempt } from '@relay/contracts';
import {
  HistoryValidationError,
  HistoryWriter,
  ScenarioRunWriter,
  WebhookAttemptWriter,
  type EventHistoryInput,
  type ScenarioRunInput,
  type TableWriter,
  type WebhookAttemptInput,
} from '@relay/history-store';
import { dlq, ok, type InboundMessage, type MessageOutcome } from '@relay/kafka';
import { fromAttempt, fromOutcome, fromRejected, fromValidated, scenarioRunsOf } from './history.mapping';
import { OutcomeWait } from './outcome-wait';

/** What one message becomes: rows for one or more tables. */
interface Rows {
  events?: EventHistoryInput[];
  runs?: ScenarioRunInput[];
  attempts?: WebhookAttemptInput[];
}

/**
 * Writes every stage's records to ClickHouse: event statuses (validated, rejected,
 * matcher outcomes), the scenario runs of each outcome, and webhook attempts. An event
 * normally gets one row: a validated event waits for its outcome ({@link OutcomeWait}) and
 * its own row is written only when no outcome is durable in time. The handler returns once
 * a chunk's rows are durable in every table it touched, so offsets are committed only then;
 * it waits for the writers' next batch (`RELAY_HISTORY_FLUSH_MS`, or as soon as a batch is
 * full) instead of forcing an insert per chunk: the chunks of one window share one insert,
 * which costs about the same for 20 rows as for 200 on chDB. A write failure throws and the
 * chunk is redelivered, which the ReplacingMergeTree tables absorb. A message whose rows the store
 * refuses on validation is dead-lettered alone; the others still land.
 */
@Controller()
export class HistoryConsumer {
  constructor(
    @Inject(HistoryWriter) private readonly events: HistoryWriter,
    @Inject(ScenarioRunWriter) private readonly runs: ScenarioRunWriter,
    @Inject(WebhookAttemptWriter) private readonly attempts: WebhookAttemptWriter,
    @Inject(OutcomeWait) private readonly outcomeWait: OutcomeWait,
  ) {}

  /** Consumed in a group of its own (main.ts): it waits for outcomes the main consumer brings. */
  @EventPattern('validated')
  onValidated(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return this.outcomeWait.hold(messages.map((m) => fromValidated(m.value)));
  }

  @EventPattern('rejected')
  onRejected(messages: InboundMessage<RejectedEvent>[]): Promise<MessageOutcome[]> {
    return this.write(messages.map((m) => () => ({ events: [fromRejected(m.value)] })));
  }

  @EventPattern('outcomes')
  async onOutcome(messages: InboundMessage<EventOutcome>[]): Promise<MessageOutcome[]> {
    const outcomes = await this.write(messages.map((m) => () => ({ events: [fromOutcome(m.value)], runs: scenarioRunsOf(m.value) })));
    // Durable now: the validated rows of these events are not needed.
    this.outcomeWait.settle(messages.filter((_, i) => outcomes[i]?.kind === 'ok').map((m) => m.value));
    return outcomes;
  }

  @EventPattern('attempts')
  onAttempt(messages: InboundMessage<WebhookAttempt>[]): Promise<MessageOutcome[]> {
    return this.write(messages.map((m) => () => ({ attempts: [fromAttempt(m.value)] })));
  }

  private async write(builders: (() => Rows)[]): Promise<MessageOutcome[]> {
    const outcomes: MessageOutcome[] = [];
    const touched = new Set<{ durable(): Promise<void> }>();
    for (const build of builders) {
      try {
        const rows = build();
        // Each writer validates its whole call before buffering. A message filling two
        // tables whose second part is invalid keeps its first part (the event row) and
        // is dead-lettered for the rest: the event's status is still right.
        if (rows.events?.length) this.add(this.events, rows.events, touched);
        if (rows.runs?.length) this.add(this.runs, rows.runs, touched);
        if (rows.attempts?.length) this.add(this.attempts, rows.attempts, touched);
        outcomes.push(ok());
      } catch (error) {
        if (!(error instanceof HistoryValidationError)) throw error;
        outcomes.push(dlq(error.code, error.message));
      }
    }
    await Promise.all([...touched].map((w) => w.durable()));
    return outcomes;
  }

  private add<T>(writer: TableWriter<T>, rows: T[], touched: Set<{ durable(): Promise<void> }>): void {
    writer.add(rows);
    touched.add(writer);
  }
}
