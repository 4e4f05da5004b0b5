import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { ContractError } from './errors';
import { ContractRegistry } from './registry';
import { loadSchema } from './schemas';
import { TOPICS } from './topics';

/**
 * A stand-in for the registry's `GET /schemas/ids/:id`: answers 404 for the first
 * `notFoundFor` lookups of an id (a registry restarting or behind), then the schema.
 */
function fakeRegistry(notFoundFor: number, knownId: number) {
  const lookups: number[] = [];
  const schema = JSON.stringify(loadSchema(TOPICS.dlq.schema));
  const server: Server = createServer((req, res) => {
    const id = Number(/\/schemas\/ids\/(\d+)/.exec(req.url ?? '')?.[1]);
    lookups.push(id);
    const seen = lookups.filter((x) => x === id).length;
    res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
    if (id !== knownId || seen <= notFoundFor) {
      res.statusCode = 404;
      res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
      return;
    }
    res.end(JSON.stringify({ schema }));
  });
  return {
    lookups,
    start: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A DeadLetter encoded in the Confluent wire format under `schemaId`. */
function wire(schemaId: number): Buffer {
  const type = avro.Type.forSchema(loadSchema(TOPICS.dlq.schema) as avro.Schema);
  const body = type.toBuffer({
    source_topic: 't',
    source_partition: 0,
    source_offset: '1',
    stage: 's',
    reason_code: 'X',
    reason: 'r',
    failed_at: 1,
    key: null,
    value: null,
    headers: {},
  });
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

describe('ContractRegistry.decode: a schema id the registry answers 404 for', () => {
  it('is looked up again while the registry is behind, and then decodes', async () => {
    const registry = fakeRegistry(2, 42);
    const url = await registry.start();
    try {
      const contracts = new ContractRegistry({ url, topicPrefix: 'p', schemaNotFoundRetryMs: 10000 });
      const { schemaId, value } = await contracts.decode('dlq', wire(42));
      expect(schemaId).toBe(42);
      expect(value.reason).toBe('r');
      expect(registry.lookups.filter((id) => id === 42)).toHaveLength(3);
    } finally {
      await registry.stop();
    }
  });

  it('is declared unknown (SCHEMA_NOT_FOUND) only once the retry budget is spent, and that verdict is remembered', async () => {
    const registry = fakeRegistry(0, 42);
    const url = await registry.start();
    try {
      const contracts = new ContractRegistry({ url, topicPrefix: 'p', schemaNotFoundRetryMs: 300 });
      const error = await contracts.decode('dlq', wire(7)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ContractError);
      expect((error as ContractError).code).toBe('SCHEMA_NOT_FOUND');
      // Asked again (after 100 ms, then 200 ms) while the next wait still fits the budget.
      const lookups = registry.lookups.length;
      expect(lookups).toBeGreaterThan(1);
      expect(lookups).toBeLessThanOrEqual(3);
      // A second record with the same id does not wait the budget again.
      await expect(contracts.decode('dlq', wire(7))).rejects.toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
      expect(registry.lookups.length).toBe(lookups);
    } finally {
      await registry.stop();
    }
  });

  it('a registry that does not answer at all is REGISTRY_UNAVAILABLE (transient), never SCHEMA_NOT_FOUND', async () => {
    const registry = fakeRegistry(0, 42);
    const url = await registry.start();
    await registry.stop();
    const contracts = new ContractRegistry({ url, topicPrefix: 'p' });
    await expect(contracts.decode('dlq', wire(42))).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
  });
});
