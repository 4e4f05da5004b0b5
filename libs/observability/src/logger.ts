import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs on stdout. Field names follow pino defaults; `service` is on every line and
 * stages add `event_id` to the lines about one event, so a single event can be followed
 * across services. Secrets never go through here: config is logged via describeConfig().
 */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers["x-api-key"]', 'req.headers["spm-api-key"]', 'req.headers.authorization', '*.secret', '*.api_key'],
      censor: '***',
    },
  });
}
