import type { RelayServiceName } from '@relay/local-stack';
import { makeContactRef, makeEnvelope } from '@relay/testing';
import { probe, produceRaw, settle, startRowLoad, waitWarm } from './faults';
import { startChaosStack, type ChaosStack, type RowFixture } from './stack';

/**
 * The CI-sized subset of `npm run chaos` (tools/chaos/run.ts), on the run's shared Kafka and
 * registry: under one steady HTTP + direct-Kafka load, each consumer stage and the gateway
 * are SIGKILLed once, two poison records are produced, and every PostgreSQL backend of the
 * pipeline's database is terminated. Then the ledger is checked: every acknowledged event
 * in history (or the poison ones in the DLQ), every owed webhook delivered, no delivery
 * repeated under another webhook-id.
 *
 * PostgreSQL is the machine's shared server (other test runs use it): restarting it would
 * break them, so the fault is pg_terminate_backend of this pipeline's own connections —
 * what a restart does to the pipeline — plus, in the full run, a TCP-proxy cut.
 * The broker is the run's shared one too; its SIGKILL (and the 3-broker topology) is left
 * to the full run, which owns its broker.
 *
 * Cost: ~3 min on 2 cores (the pipeline boots, five kills at the 6 s session timeout).
 */
const KILLED: RelayServiceName[] = ['validator', 'matcher', 'dispatcher', 'history', 'gateway'];

describe('chaos subset: kills, poison and a PostgreSQL cut lose nothing (e2e)', () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await startChaosStack();
  }, 300000);

  afterAll(async () => {
    await stack?.stop();
  }, 60000);

  it('every acknowledged event reaches history (or the DLQ) and every webhook it owes', async () => {
    const fx: RowFixture = await stack.fixture('ci');
    const load = startRowLoad(stack, fx);
    const recovery: Record<string, number> = {};
    try {
      for (const service of KILLED) {
        await waitWarm(stack, service);
        const killedAt = Date.now();
        await stack.relay.services.kill(service, 'SIGKILL');
        recovery[service] = await probe(stack, fx, killedAt, 60000);
      }
      const key = `${stack.relay.teamId}:contact:email:c1@example.com`;
      await produceRaw(stack, fx.row, key, Buffer.from('not the wire format'));
      const good = await stack.registry.encode(
        'ingested',
        makeEnvelope({ team_id: stack.relay.teamId, code_name: fx.codeName, contact: makeContactRef({ email: 'c1@example.com' }), meta_data_json: '{"n":0}' }),
      );
      await produceRaw(stack, fx.row, key, good.subarray(0, 12));
      const cutAt = Date.now();
      expect(await stack.terminatePgBackends()).toBeGreaterThan(0);
      recovery.postgres = await probe(stack, fx, cutAt, 60000);
    } finally {
      await load.stop();
    }
    const { verdict, historyDuplicates } = await settle(stack, fx, 90000);
    process.stderr.write(`[chaos subset] acked=${verdict.acked} recovery (s): ${JSON.stringify(recovery)}\n`);
    for (const [what, seconds] of Object.entries(recovery)) expect({ what, within60s: seconds < 60 }).toEqual({ what, within60s: true });
    expect({ lost: verdict.lost, undelivered: verdict.undelivered, foreignDupes: verdict.foreignDupes, historyDuplicates, examples: verdict.examples }).toEqual(
      {
        lost: 0,
        undelivered: 0,
        foreignDupes: 0,
        historyDuplicates: 0,
        examples: { lost: [], undelivered: [], foreignDupes: [] },
      },
    );
    // The poison records are in the DLQ with their reason (not merely "not lost").
    const poison = stack.ledger.of(fx.row).filter((e) => !e.owesWebhooks);
    expect(poison.map((e) => stack.dlqReasons.get(`${e.partition}:${e.offset}`) ?? 'missing')).toEqual([
      expect.stringMatching(/^validator /),
      expect.stringMatching(/^validator /),
    ]);
    expect(verdict.acked).toBeGreaterThan(50);
  }, 400000);
});
