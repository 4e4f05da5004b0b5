import 'reflect-metadata';
import { dispatcherConfigSchema } from '@relay/config';
import { prepareDatabase } from '@relay/control-plane';
import { runStageMain } from '@relay/kafka';
import { secretKeyFor } from '@relay/webhooks';
import { DispatcherModule } from './app.module';

runStageMain('dispatcher', dispatcherConfigSchema, async (config, log) => {
  secretKeyFor(config.RELAY_WEBHOOK_SECRET_KEY, config.NODE_ENV, (message) => log.warn(message));
  await prepareDatabase(config.RELAY_PG_URL);
  return { module: DispatcherModule.forRoot(config), port: config.RELAY_DISPATCHER_PORT };
});
