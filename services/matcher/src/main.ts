import 'reflect-metadata';
import { describeConfig, loadConfig, matcherConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runMain, runStage, stageConsumerSettings } from '@relay/kafka';
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
    ...stageConsumerSettings(config),
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
