/**
 * What an SRE scrapes: after real traffic through every stage (an accepted event that
 * fires a scenario and a subscription, a webhook answering 500 then 200, an unknown
 * contact, a refused trigger, garbage bytes on the ingested topic), each service's
 * /metrics shows its counters moved, and no label carries a per-event, per-contact or
 * per-endpoint value (bounded cardinality).
 */
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry } from '@relay/contracts';
import { createKafka } from '@relay/kafka';
import { createLogger } from '@relay/observability';
import { eventually, parsePrometheus, startRelay, sumOf, type RelayUnderTest, type Sample, receiver, type Receiver } from '@relay/testing';

type RelayServiceName = keyof RelayUnderTest['ports'];

describe('metrics after traffic (every service)', () => {
  let relay: RelayUnderTest;
  let hook: Receiver;
  const scraped = new Map<RelayServiceName, Sample[]>();
  /** Values that must never appear as a label value. */
  const unbounded: string[] = [];

  const api = (method: string, path: string, body?: unknown, apiKey?: string) => relay.api(method, path, body, apiKey);
  /** The gateway's metrics port, the stages' own ports. */
  const metricsUrl = (service: RelayServiceName) => (service === 'gateway' ? relay.gatewayMetricsUrl : `http://127.0.0.1:${relay.ports[service]}`);
  const scrape = async (service: RelayServiceName): Promise<Sample[]> => parsePrometheus(await (await fetch(`${metricsUrl(service)}/metrics`)).text());

  beforeAll(async () => {
    hook = await receiver((n) => (n === 1 ? { status: 500, body: 'boom' } : { status: 200 }));
    relay = await startRelay({
      env: {
        RELAY_WEBHOOK_ALLOWED_TARGETS: hook.target,
        RELAY_WEBHOOK_RETRY_SCHEDULE: '200ms,400ms',
        RELAY_WEBHOOK_POLL_MS: '50',
        RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '200',
      },
    });
    expect(
      (
        await api('POST', '/v1/events', {
          name: 'Order',
          code_name: 'metrics_order',
          properties: { metaData: [{ name: 'total', type: 'number', required: true }] },
        })
      ).status,
    ).toBe(201);
    const endpoint = await api('POST', '/v1/webhooks', { url: hook.url, events: ['metrics_order'] });
    expect(endpoint.status).toBe(201);
    const contact = `c-${uuidv7()}`;
    const email = `${uuidv7()}@example.com`;
    expect((await api('PUT', `/v1/contacts/${contact}`, { email })).status).toBeLessThan(300);
    const scenario = await api('POST', '/v1/scenarios', {
      name: 'metrics',
      code_names: ['metrics_order'],
      actions: [{ type: 'webhook', webhook_id: (endpoint.body.data as { id: string }).id }],
    });
    expect(scenario.status).toBe(201);
    const fired = await api('POST', '/v1/events/trigger/metrics_order', { contact: { email }, metaData: { total: 12 } });
    expect(fired.status).toBe(202);
    const nobody = await api('POST', '/v1/events/trigger/metrics_order', { contact: { email: `${uuidv7()}@example.com` }, metaData: { total: 1 } });
    expect(nobody.status).toBe(202);
    expect((await api('POST', '/v1/events/trigger/metrics_order', { contact: { email }, metaData: { total: 'twelve' } })).status).toBe(400);
    unbounded.push(
      contact,
      email,
      fired.body.event_id as string,
      nobody.body.event_id as string,
      (endpoint.body.data as { id: string }).id,
      (scenario.body.data as { id: string }).id,
    );

    const registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    const producer = createKafka({ brokers: relay.infra.brokers, clientId: 'metrics-e2e', logger: createLogger('metrics-e2e', 'error') }).producer();
    await producer.connect();
    await producer.send({ topic: registry.topic('ingested'), acks: -1, messages: [{ key: 'garbage', value: Buffer.from('not avro') }] });
    await producer.disconnect();

    // Both deliveries (subscription + scenario action) end delivered, the first after a retry.
    await eventually(async () => (hook.requests.length >= 3 ? true : undefined), 30_000);
    await eventually(
      async () => {
        for (const service of ['gateway', 'validator', 'matcher', 'dispatcher', 'history'] as const) scraped.set(service, await scrape(service));
        const d = scraped.get('dispatcher') ?? [];
        const h = scraped.get('history') ?? [];
        const written = (table: string) => sumOf(h, 'relay_history_rows_written_total', { table });
        return sumOf(d, 'relay_webhook_attempts_total', { outcome: 'succeeded' }) >= 2 &&
          written('webhook_attempts') >= 3 &&
          written('scenario_runs') >= 1 &&
          written('events') >= 2
          ? true
          : undefined;
      },
      30_000,
      300,
    );
  }, 180_000);

  afterAll(async () => {
    await hook?.close();
    await relay?.stop();
  });

  it('gateway: HTTP requests by templated route and status class, events ingested by dialect', () => {
    const g = scraped.get('gateway') ?? [];
    const routes = new Set(g.filter((s) => s.name === 'relay_http_requests_total').map((s) => s.labels.route));
    expect(routes).toContain('/v1/events/trigger/:code_name');
    expect(sumOf(g, 'relay_http_requests_total', { route: '/v1/events/trigger/:code_name', status_class: '2xx' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(g, 'relay_http_requests_total', { route: '/v1/events/trigger/:code_name', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    // Seed 000's trigger endpoint is the `shopimind` dialect (docs/ingestion.md).
    expect(sumOf(g, 'relay_events_ingested_total', { dialect: 'shopimind', outcome: 'accepted' })).toBe(2);
    expect(sumOf(g, 'relay_events_ingested_total', { dialect: 'shopimind', outcome: 'invalid' })).toBe(1);
    expect(sumOf(g, 'relay_http_request_duration_seconds_count')).toBeGreaterThan(0);
  });

  it('gateway: /metrics is not on the public port (404 there), only on the metrics port, which serves nothing else', async () => {
    const publicPort = await fetch(`${relay.gatewayUrl}/metrics`);
    expect(publicPort.status).toBe(404);
    expect(await publicPort.text()).not.toContain('relay_http_requests_total');
    const own = await fetch(`${relay.gatewayMetricsUrl}/metrics`);
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await own.text()).toContain('relay_http_requests_total');
    expect((await fetch(`${relay.gatewayMetricsUrl}/v1/events`)).status).toBe(404);
    expect((await fetch(`${relay.gatewayUrl}/health/ready`)).status).toBe(200);
  });

  it('validator: consumed, produced, dead-lettered with a reason, consumer lag per partition', () => {
    const v = scraped.get('validator') ?? [];
    expect(sumOf(v, 'relay_messages_consumed_total', { stage: 'validator' })).toBeGreaterThanOrEqual(3);
    expect(sumOf(v, 'relay_messages_produced_total', { stage: 'validator' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(v, 'relay_dlq_messages_total', { stage: 'validator', reason: 'UNDECODABLE' })).toBe(1);
    expect(sumOf(v, 'relay_stage_batch_duration_seconds_count', { stage: 'validator' })).toBeGreaterThan(0);
    const lag = v.filter((s) => s.name === 'relay_consumer_lag');
    expect(lag.length).toBeGreaterThan(0);
    expect(lag.every((s) => s.labels.group && s.labels.topic && /^\d+$/.test(s.labels.partition ?? ''))).toBe(true);
  });

  it('matcher: events by outcome and scenario verdicts', () => {
    const m = scraped.get('matcher') ?? [];
    expect(sumOf(m, 'relay_matcher_events_total')).toBeGreaterThanOrEqual(2);
    expect(sumOf(m, 'relay_matcher_events_total', { outcome: 'no_target' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(m, 'relay_scenario_verdicts_total', { outcome: 'matched' })).toBeGreaterThanOrEqual(1);
  });

  it('dispatcher: attempts by status class, deliveries by result, end-to-end latency from accept', () => {
    const d = scraped.get('dispatcher') ?? [];
    expect(sumOf(d, 'relay_webhook_attempts_total', { status_class: '5xx' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(d, 'relay_webhook_attempts_total', { status_class: '2xx' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(d, 'relay_webhook_deliveries_total')).toBeGreaterThanOrEqual(2);
    expect(sumOf(d, 'relay_end_to_end_latency_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(sumOf(d, 'relay_webhook_attempt_duration_seconds_count')).toBeGreaterThanOrEqual(3);
  });

  it('history: rows written per table', () => {
    const h = scraped.get('history') ?? [];
    for (const table of ['events', 'scenario_runs', 'webhook_attempts']) {
      expect(sumOf(h, 'relay_history_rows_written_total', { table })).toBeGreaterThan(0);
    }
  });

  it('no label value is per event, contact, endpoint or scenario, and every family stays small', () => {
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    const offenders: string[] = [];
    const series = new Map<string, number>();
    for (const [service, samples] of scraped) {
      for (const s of samples) {
        series.set(`${service} ${s.name}`, (series.get(`${service} ${s.name}`) ?? 0) + 1);
        for (const [k, v] of Object.entries(s.labels)) {
          if (uuid.test(v) || v.includes('@') || unbounded.some((u) => v.includes(u))) offenders.push(`${service} ${s.name}{${k}="${v}"}`);
        }
      }
    }
    expect(offenders).toEqual([]);
    const large = [...series].filter(([, n]) => n > 150);
    expect(large).toEqual([]);
  });
});
