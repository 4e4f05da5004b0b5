export { createKafka, type KafkaClientOptions } from './client';
export { ensureTopics, prepareWire, type TopicProvisionResult } from './topics';
export { DurableProducer, LingeringProducer } from './producer';
export { ok, dlq, drop, type OutputRecord, type MessageOutcome, type InboundMessage, type BatchHandler } from './outcome';
export { StageConsumer, StageConsumerError, type StageConsumerOptions } from './stage-consumer';
export { KafkaStageServer, type StageServerOptions } from './stage.server';
export { StageWiringModule, runStage, runMain, KAFKA, type StageWiring, type RunStageOptions } from './stage.module';
