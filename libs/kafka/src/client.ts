import { Kafka, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '@relay/observability';
// Side effect: every kafkajs client of the process without kafkajs's idle 1 ms timer loop.
import './request-queue-fix';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go to the service's pino logger (JSON, one line each). */
export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // kafkajs logs every group rebalance as an error-level "The group is rebalancing";
        // it is routine, so it is kept at info. So is its warning, at every boot, that the
        // idempotent producer's retries are bounded: they are on purpose (see DurableProducer).
        const lvl = /rebalanc|Limiting retries for the idempotent producer/i.test(message) ? 'info' : (LEVELS[level] ?? 'info');
        log[lvl](rest, message);
      },
  });
}
