// Process orchestration of real local infrastructure (Kafka, Apicurio Registry) from the
// repository's own files: Maven fetches the artifacts, this library runs the JVMs.
export { DEFAULT_APICURIO_VERSION, DEFAULT_KAFKA_VERSION, ensureApicurio, ensureKafka } from './artifacts';
export type { ApicurioArtifact, ArtifactOptions, EnsureApicurioOptions, EnsureKafkaOptions, KafkaArtifact } from './artifacts';
export { newClusterId, renderLog4j2Properties, renderServerProperties, startKafka } from './kafka';
export type { KafkaHandle, KafkaLogLevel, KafkaNode, ServerPropertiesInput, StartKafkaOptions } from './kafka';
export { apicurioSystemProperties, startApicurio } from './apicurio';
export type { ApicurioCcompatOptions, ApicurioConfigInput, ApicurioHandle, StartApicurioOptions } from './apicurio';
export { checkPostgres, dropDatabase, ensureDatabase, listDatabases } from './postgres';
export type { PostgresConnection, PostgresDatabase } from './postgres';
export { getFreePort, getFreePorts, isPortFree } from './ports';
export { isProcessAlive, jvmMarker, reapOrphans, spawnManaged, tailFile } from './managed-process';
export type { ManagedProcess, SpawnManagedOptions } from './managed-process';
export { javaMajorVersion, requireJava } from './java';
export { waitForReady } from './wait';
export type { WaitForReadyOptions } from './wait';
export { defaultCacheDir, defaultInfraDir, defaultLogger, defaultStateDir } from './paths';
export type { Logger } from './paths';
// Relay's own services as child processes (used by the end-to-end harness in @relay/testing).
export * from './services';
