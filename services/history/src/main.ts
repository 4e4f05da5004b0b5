import 'reflect-metadata';
import { historyConfigSchema } from '@relay/config';
import { runStageMain } from '@relay/kafka';
import { HistoryModule } from './app.module';
import { setupHistoryDocument } from './openapi';

runStageMain('history', historyConfigSchema, async (config) => ({
  module: HistoryModule.forRoot(config),
  port: config.RELAY_HISTORY_PORT,
  host: config.RELAY_HISTORY_HOST,
  beforeListen: setupHistoryDocument,
}));
