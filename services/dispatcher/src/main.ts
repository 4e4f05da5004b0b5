import 'reflect-metadata';
import { describeConfig, dispatcherConfigSchema, loadConfig } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runMain, runStage, stageConsumerSettings } from '@relay/kafka';
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
    ...stageConsumerSettings(config),
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
