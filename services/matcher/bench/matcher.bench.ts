// Matcher bench: `npx node -r ./tools/register.js services/matcher/bench/matcher.bench.ts`
// (a PostgreSQL at RELAY_PG_URL; creates and drops its own relay_test_* database).
//
// 1. Matching throughput: the matcher's batch handler with its real PostgreSQL writes
//    (contact resolution, contact merges, cooldown claims, scheduled actions, trigger
//    rows) and caches, on BENCH_CONTACTS contacts (default 100k) and 10 scenarios per
//    code_name. Kafka decoding/producing is the shared stage runner's (measured by
//    `npm run bench`) and is not included.
// 2. Scheduler lateness: BENCH_DUE actions due over a few seconds, released by 2
//    Scheduler instances polling the same table (SKIP LOCKED); lateness = time from
//    due_at to the (stubbed) produce call, p50/p99/max, and a check that each action was
//    released exactly once.
import { randomBytes } from 'node:crypto';
import { matcherConfigSchema, loadConfig } from '@relay/config';
import type { ContractRegistry, EventEnvelope, WebhookDelivery } from '@relay/contracts';
import { createPool, TeamChanges, TeamsRepository } from '@relay/control-plane';
import { createMigratedDatabase, dropTestDatabase } from '@relay/testing';
import type { DurableProducer, InboundMessage } from '@relay/kafka';
import { createLogger } from '@relay/observability';
import {
  ContactResolver,
  ContactsRepository,
  MatchStore,
  ScenarioCache,
  ScenariosRepository,
  ScheduleStore,
  deliveryId,
  parseScenarioDefinition,
} from '@relay/scenarios';
import { EndpointDirectory, subscriptionSource } from '@relay/webhooks';
import { createMatchHandler } from '../src/match.handler';
import { Scheduler } from '../src/scheduler';

const config = loadConfig('matcher', matcherConfigSchema);
const CONTACTS = Number(process.argv[2] ?? 100_000);
const EVENTS = Number(process.argv[3] ?? 50_000);
const DUE = Number(process.argv[4] ?? 5_000);
const BATCH = 500;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const dbUrl = await createMigratedDatabase(config.RELAY_PG_URL);
  const pool = createPool(dbUrl, 10);
  try {
    const team = await new TeamsRepository(pool).create('bench');
    const t0 = Date.now();
    await pool.query(
      `INSERT INTO contacts (team_id, id, email, tags, custom_data)
       SELECT $1, 'c' || i, 'user' || i || '@example.com', CASE WHEN i % 2 = 0 THEN '{vip}'::text[] ELSE '{}'::text[] END,
              jsonb_build_object('tier', CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END)
         FROM generate_series(1, $2::int) AS i`,
      [team.id, CONTACTS],
    );
    console.log(`seeded ${CONTACTS} contacts in ${Date.now() - t0} ms`);

    // Endpoints are the dispatcher's; two rows so scenarios can reference them.
    for (const id of ['w1', 'w2']) {
      await pool.query(
        `INSERT INTO webhook_endpoints (id, team_id, url, events, environment, secret_enc) VALUES ($1, $2, 'https://example.com/hook', '{}', 'production', $3)`,
        [id, team.id, randomBytes(32)],
      );
    }
    const scenarios = new ScenariosRepository(pool);
    for (let i = 0; i < 10; i++) {
      await scenarios.create(
        team.id,
        parseScenarioDefinition({
          name: `s${i}`,
          code_names: ['store_purchase'],
          ...(i % 3 === 0 ? { tags: { any: ['vip'] } } : {}),
          ...(i % 3 === 1 ? { filter: { '>': [{ var: 'event.metaData.total_amount' }, 50] } } : {}),
          ...(i % 4 === 0 ? { cooldown: 'PT1H' } : {}),
          actions: [
            { type: 'webhook', webhook_id: 'w1', template: '{"to":"{{contact.email}}","total":{{event.metaData.total_amount}} }' },
            ...(i % 5 === 0 ? [{ type: 'webhook' as const, webhook_id: 'w2', delay: 'P2D', delay_max: 'P4D' }] : []),
          ],
        }),
      );
    }

    const handler = createMatchHandler({
      changes: new TeamChanges(pool),
      scenarios: new ScenarioCache(scenarios, 60_000),
      contacts: new ContactResolver(new ContactsRepository(pool), 60_000, 200_000),
      store: new MatchStore(pool),
      subscriptions: new EndpointDirectory(subscriptionSource(pool), new TeamChanges(pool), 60_000),
      delayScale: 1,
    });
    const now = Date.now();
    const message = (i: number): InboundMessage<EventEnvelope> => {
      const c = 1 + Math.floor(Math.random() * CONTACTS);
      return {
        topic: 'bench',
        partition: 0,
        offset: String(i),
        key: null,
        headers: {},
        timestamp: '0',
        schemaId: 1,
        value: {
          event_id: `e${i}-${randomBytes(4).toString('hex')}`,
          team_id: team.id,
          environment: 'production',
          code_name: 'store_purchase',
          dialect: 'kafka',
          received_at: now + i,
          idempotency_key: null,
          contact: {
            id: null,
            email: `user${c}@example.com`,
            phone: null,
            custom_data_json: i % 4 === 0 ? '{"last_store":"PAR-13"}' : null,
            external_id: null,
            name: null,
            attributes_json: null,
          },
          visitor: null,
          meta_data_json: JSON.stringify({ total_amount: i % 100 }),
          custom_data_json: null,
          schema_version: 1,
        } as EventEnvelope,
      };
    };
    // Three partitions at once, as RELAY_PARTITIONS_CONCURRENCY does by default.
    const lanes = 3;
    const perLane = Math.ceil(EVENTS / lanes);
    let produced = 0;
    const batchMs: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let b = 0; b < perLane; b += BATCH) {
          const batch = Array.from({ length: Math.min(BATCH, perLane - b) }, (_, j) => message(lane * perLane + b + j));
          const s = Date.now();
          const outcomes = await handler(batch);
          batchMs.push(Date.now() - s);
          for (const o of outcomes) if (o.kind === 'ok') produced += o.outputs.filter((x) => x.topic === 'deliveries').length;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    batchMs.sort((a, b) => a - b);
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM scheduled_actions');
    console.log(
      `matching: ${lanes * perLane} events, ${CONTACTS} contacts, 10 scenarios/code_name: ${((lanes * perLane) / seconds).toFixed(0)} events/s; ` +
        `${produced} deliveries, ${rows[0]?.n} scheduled; batch of ${BATCH} p50 ${pct(batchMs, 50)} ms, p99 ${pct(batchMs, 99)} ms`,
    );

    // Scheduler: DUE actions due over the next 3 s, two instances.
    await pool.query('DELETE FROM scheduled_actions');
    const { rows: sc } = await pool.query<{ id: string }>('SELECT id FROM scenarios LIMIT 1');
    const scenarioId = sc[0]?.id as string;
    const base = Date.now() + 1000;
    const items = Array.from({ length: DUE }, (_, i) => {
      const due = base + Math.floor((i / DUE) * 3000);
      const delivery: WebhookDelivery = {
        delivery_id: deliveryId(`d${i}`, scenarioId, 0, due),
        team_id: team.id,
        environment: 'production',
        endpoint_id: 'w1',
        kind: 'scenario_action',
        action: 'store_purchase',
        event_id: `d${i}`,
        code_name: 'store_purchase',
        scenario_id: scenarioId,
        action_index: 0,
        contact_json: null,
        payload_json: '{}',
        occurred_at: due,
        created_at: due,
      };
      return { delivery, due };
    });
    await new MatchStore(pool).transact((tx) => tx.schedule(items.map((i) => ({ delivery: i.delivery, due_at: i.due }))));
    const released = new Map<string, number>();
    const lateness: number[] = [];
    const dueOf = new Map(items.map((i) => [i.delivery.delivery_id, i.due]));
    // Stub registry and producer: each produced message's value is its delivery_id, so
    // the bench counts productions per action (exactly once) and their time.
    const fakeRegistry = {
      encode: async (_topic: string, value: WebhookDelivery) => Buffer.from(value.delivery_id),
      topic: () => 'deliveries',
    } as unknown as ContractRegistry;
    const fakeProducer = {
      sendBatch: async (batches: { messages: { value: Buffer }[] }[]) => {
        await new Promise((r) => setTimeout(r, 3)); // about an acks=all produce on a local broker
        const at = Date.now();
        for (const m of batches.flatMap((b) => b.messages)) {
          const id = m.value.toString();
          released.set(id, (released.get(id) ?? 0) + 1);
          lateness.push(at - (dueOf.get(id) ?? at));
        }
      },
    } as unknown as DurableProducer;
    const logger = createLogger('bench', 'warn');
    const schedulers = Array.from(
      { length: 2 },
      () =>
        new Scheduler({
          store: new ScheduleStore(pool),
          registry: fakeRegistry,
          producer: fakeProducer,
          logger,
          pollMs: config.RELAY_SCHEDULER_POLL_MS,
          batch: config.RELAY_SCHEDULER_BATCH,
        }),
    );
    schedulers.forEach((s) => s.start());
    await new Promise((r) => setTimeout(r, 3000 + 1000 + 2000));
    await Promise.all(schedulers.map((s) => s.stop()));
    const twice = [...released.values()].filter((n) => n > 1).length;
    lateness.sort((a, b) => a - b);
    console.log(
      `scheduler: ${released.size}/${DUE} released by 2 instances, ${twice} more than once (poll ${config.RELAY_SCHEDULER_POLL_MS} ms); ` +
        `lateness p50 ${pct(lateness, 50)} ms, p99 ${pct(lateness, 99)} ms, max ${lateness[lateness.length - 1] ?? 0} ms`,
    );
  } finally {
    await pool.end();
    await dropTestDatabase(dbUrl).catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
