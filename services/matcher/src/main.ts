import 'reflect-metadata';
import { matcherConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runStageMain } from '@relay/kafka';
import { MatcherModule } from './app.module';

runStageMain('matcher', matcherConfigSchema, async (config) => {
  await prepareDatabase(config.RELAY_PG_URL);
  return { module: MatcherModule.forRoot(config), port: config.RELAY_MATCHER_PORT };
});
