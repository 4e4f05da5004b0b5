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
import { deferred, dlq, ok, type DeferredOutcomes, type InboundMessage, type MessageOutcome } from '@relay/kafka';
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
 * its own row is written only when no outcome is durable in time.
 *
 * The handlers buffer a chunk's rows in the writers and hand it back at once as
 * {@link DeferredOutcomes}: the consumer goes on fetching while the rows wait for the writers'
 * next batch (`RELAY_HISTORY_FLUSH_MS`, or as soon as a batch is full), and commits the
 * chunk's offsets only once its rows are durable in every table it touched. The chunks of one
 * window share one insert (about the same cost for 20 rows as for 200 on chDB), and a row
 * waits for at most one window: before, the next chunk was fetched only once the previous
 * one's window had closed, so its rows waited up to two. A failed insert rewinds the
 * partition to the chunk, which is read again; the ReplacingMergeTree tables absorb the
 * rows written twice. A message whose rows the store refuses on validation is dead-lettered
 * alone; the others still land.
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
  async onRejected(messages: InboundMessage<RejectedEvent>[]): Promise<DeferredOutcomes> {
    return this.write(messages.map((m) => () => ({ events: [fromRejected(m.value)] })));
  }

  @EventPattern('outcomes')
  async onOutcome(messages: InboundMessage<EventOutcome>[]): Promise<DeferredOutcomes> {
    const { outcomes, durable } = this.write(messages.map((m) => () => ({ events: [fromOutcome(m.value)], runs: scenarioRunsOf(m.value) })));
    const written = messages.filter((_, i) => outcomes[i]?.kind === 'ok').map((m) => m.value);
    // Once durable, the validated rows of these events are not needed.
    return deferred(
      outcomes,
      durable.then(() => this.outcomeWait.settle(written)),
    );
  }

  @EventPattern('attempts')
  async onAttempt(messages: InboundMessage<WebhookAttempt>[]): Promise<DeferredOutcomes> {
    return this.write(messages.map((m) => () => ({ attempts: [fromAttempt(m.value)] })));
  }

  /** Buffers each message's rows; durable once every writer touched has written them. */
  private write(builders: (() => Rows)[]): DeferredOutcomes {
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
    return deferred(
      outcomes,
      Promise.all([...touched].map((w) => w.durable())).then(() => undefined),
    );
  }

  private add<T>(writer: TableWriter<T>, rows: T[], touched: Set<{ durable(): Promise<void> }>): void {
    writer.add(rows);
    touched.add(writer);
  }
}
