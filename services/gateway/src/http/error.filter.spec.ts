import type { ArgumentsHost } from '@nestjs/common';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs';
import { ProduceError } from '@relay/kafka';
import { gatewayErrorFilter } from './error.filter';

/** Runs the filter on `error` and returns what the client would get. */
function answer(error: unknown): { status: number; headers: Record<string, string>; body: { code: string; errors: string[] } } {
  const out = { status: 0, headers: {} as Record<string, string>, body: { code: '', errors: [] as string[] } };
  const reply = {
    status(code: number) {
      out.status = code;
      return this;
    },
    headers(h: Record<string, string>) {
      out.headers = h;
      return this;
    },
    send(body: { code: string; errors: string[] }) {
      out.body = body;
      return Promise.resolve();
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ url: '/v1/events/trigger/x' }) }),
  } as unknown as ArgumentsHost;
  gatewayErrorFilter({ error: () => undefined }).catch(error, host);
  return out;
}

describe('ErrorFilter: a dependency that is down is 503 DEPENDENCY_UNAVAILABLE with Retry-After, never 500', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });

  it.each([
    ['a produce Kafka did not acknowledge in time', new ProduceError('PRODUCE_TIMEOUT', 'Kafka did not acknowledge within 10000 ms'), 'Kafka'],
    ['a full producer queue', new ProduceError('PRODUCER_QUEUE_FULL', '10000 records already wait'), 'Kafka'],
    [
      'kafkajs giving up its retries',
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), { retryCount: 5, retryTime: 3000 }),
      'Kafka',
    ],
    ['PostgreSQL restarting (57P01 admin_shutdown)', pgError('57P01', 'terminating connection due to administrator command'), 'PostgreSQL'],
    ['PostgreSQL starting up (57P03)', pgError('57P03', 'the database system is starting up'), 'PostgreSQL'],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'PostgreSQL'],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect'), 'PostgreSQL'],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly'), 'PostgreSQL'],
  ])('%s', (_what, error, dependency) => {
    const res = answer(error);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(res.body.errors[0]).toContain(dependency);
  });

  it('keeps 500 INTERNAL for a bug, and 4xx for a query PostgreSQL refused', () => {
    expect(answer(new TypeError('x is undefined'))).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
    expect(answer(pgError('23505', 'duplicate key value violates unique constraint')).status).toBe(500);
  });
});
