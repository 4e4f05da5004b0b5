export { createLogger, type Logger } from './logger';
export { RelayMetrics } from './metrics';
export { Readiness, type ReadinessCheck } from './readiness';
export { ObservabilityModule, SERVICE_NAME, type ObservabilityOptions } from './observability.module';
