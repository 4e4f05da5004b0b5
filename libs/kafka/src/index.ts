export { createKafka, type KafkaClientOptions } from './client';
export { ensureTopics, prepareWire, replicationFor, waitForTopicLeaders, type Replication, type TopicProvisionResult } from './topics';
export { DurableProducer, LingeringProducer, ProduceError, type LingeringProducerOptions } from './producer';
export {
  ok,
  dlq,
  drop,
  deferred,
  inboundMessage,
  type OutputRecord,
  type MessageOutcome,
  type InboundMessage,
  type BatchHandler,
  type DurableBatchHandler,
  type DeferredOutcomes,
  type HandlerResult,
} from './outcome';
export { TopicBatch, produceRecords } from './produce';
export { coalesceBatches, type CoalesceOptions } from './coalesce';
export { StageConsumer, StageConsumerError, type StageConsumerOptions } from './stage-consumer';
export { KafkaStageServer, type OwnGroup, type StageServerOptions } from './stage.server';
export { WireModule, runStage, runStageMain, runMain, stageOptionsFrom, KAFKA, type WireOptions, type RunStageOptions, type StageEntry } from './wire.module';
