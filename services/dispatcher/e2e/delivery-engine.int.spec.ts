import { randomBytes, randomUUID } from 'node:crypto';
import type { WebhookDelivery } from '@relay/contracts';
import { TeamChanges, TeamsRepository } from '@relay/control-plane';
import type { OutputRecord } from '@relay/kafka';
import { createLogger, RelayMetrics } from '@relay/observability';
import { eventually, useMigratedDatabase } from '@relay/testing';
import {
  DeliveryEngine,
  EndpointDirectory,
  PendingStore,
  SecretBox,
  WebhookEndpointsRepository,
  endpointCreateSchema,
  withDefaults,
  type SendResult,
} from '@relay/webhooks';

/**
 * The delivery engine on a real PostgreSQL (its durable queue, tombstones and endpoints),
 * with a scripted sender instead of HTTP and Kafka output captured in memory.
 */
describe('DeliveryEngine on PostgreSQL', () => {
  const db = useMigratedDatabase();
  let teamId: string;
  let endpoints: WebhookEndpointsRepository;
  const engines: DeliveryEngine[] = [];
  const directories: EndpointDirectory[] = [];

  beforeAll(async () => {
    teamId = (await new TeamsRepository(db.pool).create(`team ${randomBytes(3).toString('hex')}`)).id;
    endpoints = new WebhookEndpointsRepository(db.pool, new SecretBox(randomBytes(32)));
  });

  // One engine per test: engines share the database, and another test's engine (whose
  // directory predates this test's endpoints) would claim and defer this test's rows.
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
    for (const d of directories.splice(0)) d.stop();
  });

  const createEndpoint = async (overrides: Record<string, unknown> = {}) => {
    const body = endpointCreateSchema.parse({ url: 'https://receiver.example.com/hook', events: ['purchase'], ...overrides });
    return (await endpoints.create(teamId, withDefaults(body, { environment: 'production', timeoutMs: 5000 }))).endpoint;
  };

  const delivery = (endpointId: string, createdAt = Date.now()): WebhookDelivery => ({
    delivery_id: randomUUID(),
    team_id: teamId,
    environment: 'production',
    endpoint_id: endpointId,
    kind: 'subscription',
    action: 'purchase',
    event_id: randomUUID(),
    code_name: 'purchase',
    scenario_id: null,
    action_index: null,
    contact_json: null,
    payload_json: '{}',
    occurred_at: createdAt,
    created_at: createdAt,
  });

  /** An engine whose sender answers with `respond` and records every POST's delivery ids. */
  /**
   * `staleDirectory`: the directory is told no team changed, so only its periodic reload
   * (`refresh()`) updates it — a directory behind the database.
   */
  const startEngine = async (respond: (url: string) => Partial<SendResult> = () => ({}), schedule: number[] = [50, 50], staleDirectory = false) => {
    const sent: string[] = [];
    const produced: OutputRecord[] = [];
    const metrics = new RelayMetrics('dispatcher-test');
    const changes = staleDirectory ? { currentMany: async () => new Map<string, { seq: number }>() } : new TeamChanges(db.pool);
    const directory = new EndpointDirectory(endpoints.forDispatch(), changes, 60000);
    await directory.start();
    directories.push(directory);
    const engine = new DeliveryEngine({
      store: new PendingStore(db.pool, 60000),
      directory,
      endpoints,
      sender: {
        post: async (url, body) => {
          const items = JSON.parse(body) as { delivery_id: string } | { delivery_id: string }[];
          for (const item of Array.isArray(items) ? items : [items]) sent.push(item.delivery_id);
          return { ok: true, status: 200, error: null, latencyMs: 1, snippet: null, retryAfterMs: null, ...respond(url) };
        },
      },
      produce: async (records) => void produced.push(...records),
      schedule,
      queueMax: 100,
      pollMs: 50,
      leaseMs: 60000,
      autoDisableMs: 3600000,
      logger: createLogger('dispatcher-test', 'silent'),
      metrics,
    });
    engine.start();
    engines.push(engine);
    return { engine, sent, produced, metrics, directory };
  };

  it('does not send a delivery again when a duplicate record arrives after it succeeded', async () => {
    const endpoint = await createEndpoint();
    const { engine, sent } = await startEngine();
    const d = delivery(endpoint.id);
    await engine.accept([d]);
    await eventually(async () => (sent.includes(d.delivery_id) ? true : undefined), 10000, 20);
    await engine.flush();
    // The pending row is gone; a duplicate of the record (producer retry, topic replay)
    // arrives, alone and among new deliveries.
    const fresh = delivery(endpoint.id);
    await engine.accept([{ ...d }]);
    await engine.accept([{ ...d }, fresh]);
    await eventually(async () => (sent.includes(fresh.delivery_id) ? true : undefined), 10000, 20);
    await engine.flush();
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_pending WHERE delivery_id = $1', [d.delivery_id]);
    expect(rows[0]?.n).toBe('0');
    expect(sent.filter((id) => id === d.delivery_id)).toHaveLength(1);
  });

  it('fails a delivery whose endpoint is deleted with ENDPOINT_NOT_FOUND: an attempt for history, a dead letter, a metric', async () => {
    const gone = await createEndpoint();
    expect(await endpoints.delete(teamId, gone.id)).toBe(true);
    const { engine, sent, produced, metrics } = await startEngine();
    const d = delivery(gone.id);
    await engine.accept([d]);
    const attempt = await eventually(
      async () => produced.find((r) => r.topic === 'attempts' && (r.value as { delivery_id: string }).delivery_id === d.delivery_id),
      10000,
      20,
    );
    expect(attempt.value).toMatchObject({ outcome: 'dead', http_status: null, attempt: 0, endpoint_id: gone.id, event_id: d.event_id });
    expect((attempt.value as { error: string }).error).toMatch(/^ENDPOINT_NOT_FOUND: /);
    expect(produced.find((r) => r.topic === 'deliveries_dead' && (r.value as { delivery_id: string }).delivery_id === d.delivery_id)?.value).toMatchObject({
      last_error: expect.stringMatching(/^ENDPOINT_NOT_FOUND/),
      attempts: 0,
    });
    await engine.flush();
    const { rows } = await db.pool.query<{ outcome: string; error: string }>('SELECT outcome, error FROM webhook_attempts WHERE delivery_id = $1', [
      d.delivery_id,
    ]);
    expect(rows).toEqual([{ outcome: 'dead', error: expect.stringMatching(/^ENDPOINT_NOT_FOUND/) }]);
    const unsent = (await metrics.webhookUnsent.get()).values.find((v) => v.labels.reason === 'ENDPOINT_NOT_FOUND');
    expect(unsent?.value).toBe(1);
    expect(sent).not.toContain(d.delivery_id);
  });

  it('keeps a delivery whose endpoint exists in the database but not yet in the directory, and sends it once the directory sees it', async () => {
    const { engine, sent, produced, directory } = await startEngine(undefined, undefined, true);
    // Created after the directory was loaded, however old the delivery is.
    const late = await createEndpoint();
    const d = delivery(late.id, Date.now() - 3600000);
    await engine.accept([d]);
    await eventually(
      async () => {
        const { rows } = await db.pool.query<{ last_error: string | null }>('SELECT last_error FROM webhook_pending WHERE delivery_id = $1', [d.delivery_id]);
        return rows[0]?.last_error === 'endpoint not found yet' ? true : undefined;
      },
      10000,
      20,
    );
    expect(produced.filter((r) => (r.value as { delivery_id?: string }).delivery_id === d.delivery_id)).toEqual([]);
    await directory.refresh();
    await eventually(async () => (sent.includes(d.delivery_id) ? true : undefined), 10000, 20);
  });

  it('410 Gone: no retry, the endpoint is disabled with the reason, its other deliveries fail with a reason', async () => {
    const endpoint = await createEndpoint({ max_concurrency: 1 });
    let goneNow = false;
    // 500 first (a retry is planned an hour later), then 410 Gone.
    const { engine, produced, directory } = await startEngine(
      () => (goneNow ? { ok: false, status: 410, error: 'HTTP 410' } : { ok: false, status: 500, error: 'HTTP 500' }),
      [3600000],
    );
    const waiting = delivery(endpoint.id);
    await engine.accept([waiting]);
    const outcomeOf = (id: string) =>
      produced
        .filter((r) => r.topic === 'attempts' && (r.value as { delivery_id: string }).delivery_id === id)
        .map((r) => r.value as { outcome: string; http_status: number | null; error: string | null });
    await eventually(async () => (outcomeOf(waiting.delivery_id).length === 1 ? true : undefined), 10000, 20);
    expect(outcomeOf(waiting.delivery_id)[0]).toMatchObject({ outcome: 'retrying', http_status: 500 });
    await engine.flush();

    goneNow = true;
    const gone = delivery(endpoint.id);
    await engine.accept([gone]);
    await eventually(async () => (outcomeOf(gone.delivery_id).length === 1 ? true : undefined), 10000, 20);
    expect(outcomeOf(gone.delivery_id)).toEqual([
      expect.objectContaining({ outcome: 'dead', http_status: 410, error: expect.stringMatching(/^ENDPOINT_GONE/) }),
    ]);
    await engine.flush();
    expect(await endpoints.get(teamId, endpoint.id)).toMatchObject({ status: 'auto-disabled', disabled_reason: 'the receiver answered 410 Gone' });

    // The delivery that waited for its retry fails now, with a reason, not in an hour.
    await directory.refresh();
    await eventually(async () => (outcomeOf(waiting.delivery_id).length === 2 ? true : undefined), 10000, 20);
    const last = outcomeOf(waiting.delivery_id)[1];
    expect(last?.outcome).toBe('dead');
    expect(last?.error).toMatch(/^(ENDPOINT_DISABLED: endpoint is auto-disabled \(the receiver answered 410 Gone\)|ENDPOINT_GONE)/);
    await engine.flush();
    const { rows } = await db.pool.query<{ delivery_id: string }>('SELECT delivery_id FROM webhook_dead WHERE endpoint_id = $1 ORDER BY delivery_id', [
      endpoint.id,
    ]);
    expect(rows.map((r) => r.delivery_id).sort()).toEqual([waiting.delivery_id, gone.delivery_id].sort());
    expect((await db.pool.query('SELECT 1 FROM webhook_pending WHERE endpoint_id = $1', [endpoint.id])).rowCount).toBe(0);
  });

  it('forgets finished deliveries after the dedupe window (pruned)', async () => {
    const endpoint = await createEndpoint();
    const d = delivery(endpoint.id);
    const store = new PendingStore(db.pool, 60000, 1);
    expect([...(await store.accept([d], new Set()))]).toEqual([d.delivery_id]);
    await store.complete([{ kind: 'dead', job: { delivery: d, attempts: 0 }, attempt: null, reason: 'test' }], 3600000);
    expect([...(await store.accept([d], new Set()))]).toEqual([]);
    await db.pool.query(`UPDATE webhook_finished SET finished_at = now() - interval '1 second' WHERE delivery_id = $1`, [d.delivery_id]);
    await store.prune(30 * 24 * 3600 * 1000);
    expect([...(await store.accept([d], new Set()))]).toEqual([d.delivery_id]);
  });
});
