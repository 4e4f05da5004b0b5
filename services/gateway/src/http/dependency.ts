import { ProduceError } from '@relay/kafka';

/**
 * SQLSTATE classes and codes that mean "PostgreSQL is not reachable right now" rather than
 * "this query is wrong": connection exceptions (08…), too many connections (53300), the
 * server shutting down or starting (57P01–57P03).
 */
const PG_UNAVAILABLE_CODES = /^(08...|53300|57P01|57P02|57P03)$/;
/** Socket-level failures of a database or broker connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What node-postgres says when its connection goes away or cannot be made in time. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|is not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Which dependency an error shows to be unavailable (the request may be retried and
 * should get 503 + Retry-After), or null when the error is something else.
 */
export function unavailableDependency(error: unknown): 'Kafka' | 'PostgreSQL' | null {
  if (error instanceof ProduceError) return 'Kafka';
  if (typeof error !== 'object' || error === null) return null;
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  // kafkajs errors all derive from KafkaJSError (connection, request timeout, retries exceeded…).
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return 'Kafka';
  if (typeof e.code === 'string' && (PG_UNAVAILABLE_CODES.test(e.code) || NETWORK_CODES.has(e.code))) return 'PostgreSQL';
  if (typeof e.message === 'string' && PG_CONNECTION_MESSAGES.test(e.message)) return 'PostgreSQL';
  return null;
}
