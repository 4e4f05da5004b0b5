import { Controller, Inject } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventEnvelope, EventOutcome, RejectedEvent } from '@relay/contracts';
import { HistoryValidationError, HistoryWriter, type EventHistoryInput } from '@relay/history-store';
import { dlq, ok, type InboundMessage, type MessageOutcome } from '@relay/kafka';
import { fromOutcome, fromRejected, fromValidated } from './history.mapping';

/**
 * Writes the final status of every event to ClickHouse. A chunk's rows are flushed before
 * the handler returns, so offsets are committed only once the rows are durable; a row the
 * store refuses on validation is dead-lettered alone, the others still land.
 */
@Controller()
export class HistoryConsumer {
  constructor(@Inject(HistoryWriter) private readonly writer: HistoryWriter) {}

  @EventPattern('validated')
  onValidated(messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> {
    return this.write(messages.map((m) => () => fromValidated(m.value)));
  }

  @EventPattern('rejected')
  onRejected(messages: InboundMessage<RejectedEvent>[]): Promise<MessageOutcome[]> {
    return this.write(messages.map((m) => () => fromRejected(m.value)));
  }

  @EventPattern('outcomes')
  onOutcome(messages: InboundMessage<EventOutcome>[]): Promise<MessageOutcome[]> {
    return this.write(messages.map((m) => () => fromOutcome(m.value)));
  }

  private async write(builders: (() => EventHistoryInput)[]): Promise<MessageOutcome[]> {
    const outcomes: MessageOutcome[] = [];
    const rows: EventHistoryInput[] = [];
    for (const build of builders) {
      try {
        const row = build();
        this.writer.add(row);
        rows.push(row);
        outcomes.push(ok());
      } catch (error) {
        if (!(error instanceof HistoryValidationError)) throw error;
        outcomes.push(dlq(error.code, error.message));
      }
    }
    if (rows.length > 0) await this.writer.flush();
    return outcomes;
  }
}
