import 'reflect-metadata';
import { validatorConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runStageMain } from '@relay/kafka';
import { ValidatorModule } from './app.module';

runStageMain('validator', validatorConfigSchema, async (config) => {
  await prepareDatabase(config.RELAY_PG_URL);
  return { module: ValidatorModule.forRoot(config), port: config.RELAY_VALIDATOR_PORT };
});
