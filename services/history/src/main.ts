import 'reflect-metadata';
import { historyConfigSchema } from '@relay/config';
import { historyTokenFor } from '@relay/http-api';
import { runStageMain } from '@relay/kafka';
import { HistoryModule } from './app.module';
import { setupHistoryDocument } from './openapi';

runStageMain('history', historyConfigSchema, async (config, log) => {
  // The internal API's credential: the dev-only token with a warning, refused in production.
  const token = historyTokenFor(config.RELAY_HISTORY_TOKEN, config.NODE_ENV, (message) => log.warn(message));
  return {
    module: HistoryModule.forRoot(config, token),
    port: config.RELAY_HISTORY_PORT,
    host: config.RELAY_HISTORY_HOST,
    beforeListen: setupHistoryDocument,
  };
});
