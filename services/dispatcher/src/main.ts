import 'reflect-metadata';
import { describeConfig, dispatcherConfigSchema, loadConfig } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runMain, runStage } from '@relay/kafka';
import { secretKeyFor } from '@relay/webhooks';
import { DispatcherModule } from './app.module';

runMain('dispatcher', async (log) => {
  const config = loadConfig('dispatcher', dispatcherConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  secretKeyFor(config.RELAY_WEBHOOK_SECRET_KEY, config.NODE_ENV, (message) => log.warn(message));
  await prepareDatabase(config.RELAY_PG_URL);
  await runStage({
    service: 'dispatcher',
    module: DispatcherModule.forRoot(config),
    port: config.RELAY_DISPATCHER_PORT,
    groupId: `${config.RELAY_TOPIC_PREFIX}.dispatcher`,
    batchMax: config.RELAY_BATCH_MAX,
    partitionsConcurrency: config.RELAY_PARTITIONS_CONCURRENCY,
    sessionTimeoutMs: config.RELAY_KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.RELAY_KAFKA_HEARTBEAT_MS,
    handlerAttempts: config.RELAY_HANDLER_ATTEMPTS,
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
