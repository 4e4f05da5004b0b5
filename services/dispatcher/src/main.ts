import 'reflect-metadata';
import { describeConfig, dispatcherConfigSchema, loadConfig } from '@relay/config';
import { runMain, runStage } from '@relay/kafka';
import { DispatcherModule } from './app.module';

runMain('dispatcher', async (log) => {
  const config = loadConfig('dispatcher', dispatcherConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  await runStage({
    service: 'dispatcher',
    module: DispatcherModule.forRoot(config),
    port: config.RELAY_DISPATCHER_PORT,
    groupId: `${config.RELAY_TOPIC_PREFIX}.dispatcher`,
    batchMax: config.RELAY_BATCH_MAX,
    partitionsConcurrency: config.RELAY_PARTITIONS_CONCURRENCY,
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
