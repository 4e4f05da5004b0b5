import 'reflect-metadata';
import { describeConfig, loadConfig, matcherConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runMain, runStage } from '@relay/kafka';
import { MatcherModule } from './app.module';

runMain('matcher', async (log) => {
  const config = loadConfig('matcher', matcherConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  await prepareDatabase(config.RELAY_PG_URL);
  await runStage({
    service: 'matcher',
    module: MatcherModule.forRoot(config),
    port: config.RELAY_MATCHER_PORT,
    groupId: `${config.RELAY_TOPIC_PREFIX}.matcher`,
    batchMax: config.RELAY_BATCH_MAX,
    partitionsConcurrency: config.RELAY_PARTITIONS_CONCURRENCY,
    sessionTimeoutMs: config.RELAY_KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.RELAY_KAFKA_HEARTBEAT_MS,
    handlerAttempts: config.RELAY_HANDLER_ATTEMPTS,
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
