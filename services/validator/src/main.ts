import 'reflect-metadata';
import { describeConfig, loadConfig, validatorConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runMain, runStage, stageConsumerSettings } from '@relay/kafka';
import { ValidatorModule } from './app.module';

runMain('validator', async (log) => {
  const config = loadConfig('validator', validatorConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  await prepareDatabase(config.RELAY_PG_URL);
  await runStage({
    service: 'validator',
    module: ValidatorModule.forRoot(config),
    port: config.RELAY_VALIDATOR_PORT,
    groupId: `${config.RELAY_TOPIC_PREFIX}.validator`,
    ...stageConsumerSettings(config),
    logLevel: config.RELAY_LOG_LEVEL,
  });
});
