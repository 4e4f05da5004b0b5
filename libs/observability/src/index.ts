export { createLogger, type Logger } from './logger';
export { RelayMetrics } from './metrics';
export { serveMetrics } from './metrics-server';
export { Readiness, type ReadinessCheck } from './readiness';
export { ObservabilityModule, SERVICE_NAME, serviceFastifyAdapter, type ObservabilityOptions } from './observability.module';
