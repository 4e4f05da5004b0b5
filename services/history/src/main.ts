import 'reflect-metadata';
import { describeConfig, historyConfigSchema, loadConfig } from '@relay/config';
import { runMain, runStage, stageConsumerSettings } from '@relay/kafka';
import { HistoryModule } from './app.module';
import { setupHistoryDocument } from './openapi';

runMain('history', async (log) => {
  const config = loadConfig('history', historyConfigSchema);
  log.info({ config: describeConfig(config) }, 'starting');
  await runStage({
    service: 'history',
    module: HistoryModule.forRoot(config),
    port: config.RELAY_HISTORY_PORT,
    host: config.RELAY_HISTORY_HOST,
    groupId: `${config.RELAY_TOPIC_PREFIX}.history`,
    // Validated events wait there for their outcome, which the main group consumes
    // (OutcomeWait). That consumer is never on the latency path: it lets the broker gather
    // larger fetches (and polls an idle broker twice a second rather than 40 times).
    ownGroups: {
      validated: { groupId: `${config.RELAY_TOPIC_PREFIX}.history-validated`, fetchMinBytes: 256 * 1024, fetchMaxWaitMs: 500 },
    },
    ...stageConsumerSettings(config),
    logLevel: config.RELAY_LOG_LEVEL,
    beforeListen: setupHistoryDocument,
  });
});
