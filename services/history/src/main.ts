import 'reflect-metadata';
import { describeConfig, historyConfigSchema, loadConfig } from '@relay/config';
import { runMain, runStage } from '@relay/kafka';
import { HistoryModule } from './app.module';
import { setupHistoryDocument } from './openapi';

runMain('history', async (log) => {
  const config = loadConfig('history', historyConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  await runStage({
    service: 'history',
    module: HistoryModule.forRoot(config),
    port: config.RELAY_HISTORY_PORT,
    host: config.RELAY_HISTORY_HOST,
    groupId: `${config.RELAY_TOPIC_PREFIX}.history`,
    // Validated events wait there for their outcome, which the main group consumes (OutcomeWait).
    ownGroups: { validated: `${config.RELAY_TOPIC_PREFIX}.history-validated` },
    batchMax: config.RELAY_BATCH_MAX,
    partitionsConcurrency: config.RELAY_PARTITIONS_CONCURRENCY,
    sessionTimeoutMs: config.RELAY_KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.RELAY_KAFKA_HEARTBEAT_MS,
    handlerAttempts: config.RELAY_HANDLER_ATTEMPTS,
    logLevel: config.RELAY_LOG_LEVEL,
    beforeListen: setupHistoryDocument,
  });
});
