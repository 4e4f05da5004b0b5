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
    // Validated events wait there for their outcome, which the main group consumes
    // (OutcomeWait). That consumer is never on the latency path: it lets the broker gather
    // larger fetches (and polls an idle broker twice a second rather than 40 times).
    ownGroups: {
      validated: { groupId: `${config.RELAY_TOPIC_PREFIX}.history-validated`, fetchMinBytes: 256 * 1024, fetchMaxWaitMs: 500 },
    },
    beforeListen: setupHistoryDocument,
  };
});
