export { createKafka, type KafkaClientOptions } from './client';
export { ensureTopics, prepareWire, replicationFor, waitForTopicLeaders, type Replication, type TopicProvisionResult } from './topics';
export { DurableProducer, LingeringProducer, ProduceError, type LingeringProducerOptions } from './producer';
export { ok, dlq, drop, inboundMessage, type OutputRecord, type MessageOutcome, type InboundMessage, type BatchHandler } from './outcome';
export { TopicBatch, produceRecords } from './produce';
export { coalesceBatches, type CoalesceOptions } from './coalesce';
export { StageConsumer, StageConsumerError, type StageConsumerOptions } from './stage-consumer';
export { KafkaStageServer, type OwnGroup, type StageServerOptions } from './stage.server';
export { WireModule, runStage, runStageMain, runMain, stageOptionsFrom, KAFKA, type WireOptions, type RunStageOptions, type StageEntry } from './wire.module';
