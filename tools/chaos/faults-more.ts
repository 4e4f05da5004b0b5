import { connect } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { RelayServiceName } from '@relay/local-stack';
import { orderInversions, type Verdict } from './checker';
import { sleep, underLoad, waitWarm, type Fault, type FaultResult } from './faults';
import type { ChaosStack } from './stack';

const NO_EVENTS: Verdict = { acked: 0, lost: 0, undelivered: 0, foreignDupes: 0, sameIdDupes: 0, examples: { lost: [], undelivered: [], foreignDupes: [] } };

/** A row without load (requests that must be refused): each expectation that fails is one failure line. */
async function expectations(checks: [string, () => Promise<string | undefined>][]): Promise<FaultResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  for (const [what, check] of checks) {
    const problem = await check().catch((e: Error) => `threw ${e.message}`);
    if (problem) failures.push(`${what}: ${problem}`);
    else notes.push(`${what}: ok`);
  }
  return { verdict: NO_EVENTS, recoveryS: (Date.now() - t0) / 1000, failures, notes };
}

async function post(
  stack: ChaosStack,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const res = await fetch(`${stack.relay.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': stack.relay.apiKey, 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(30000),
  });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

/** Headers and part of the body, then silence: the gateway must answer 408 rather than hold the socket. */
function slowUpload(url: string, apiKey: string, path: string, waitMs: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer || `no answer within ${waitMs / 1000} s`);
    }, waitMs);
    socket.on('data', (c: Buffer) => {
      answer += c.toString('utf8');
      clearTimeout(timer);
      socket.destroy();
      resolve(answer.split('\r\n')[0] ?? answer);
    });
    socket.on('error', () => undefined);
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\nx-api-key: ${apiKey}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"contact":`,
    );
  });
}

export const MORE_FAULTS: Fault[] = [
  {
    name: 'ssrf-urls',
    rows: '10',
    async run(stack) {
      const port = new URL(stack.receiver.baseUrl).port;
      const refused = (url: string): [string, () => Promise<string | undefined>] => [
        url,
        async () => {
          const res = await post(stack, '/v1/webhooks', JSON.stringify({ url, events: ['chaos_ssrf'] }));
          return res.status === 400 ? undefined : `answered ${res.status}, wanted 400`;
        },
      ];
      const result = await expectations([
        refused('http://10.1.2.3/hook'),
        refused('http://169.254.169.254/latest/meta-data'),
        // Loopback, but not the test receiver: only an exact host:port allowlist refuses these.
        refused(`http://[::ffff:127.0.0.1]:${port}/hook`),
        refused(`http://2130706433:${port}/hook`),
        refused('http://127.0.0.1:1/hook'),
      ]);
      result.notes.push('not covered: a name that resolves to loopback only after creation (needs a DNS server the run controls)');
      return result;
    },
  },
  {
    name: 'bad-input',
    rows: '15',
    async run(stack) {
      const created = await stack.relay.api('POST', '/v1/events', {
        name: 'chaos_input',
        code_name: 'chaos_input',
        properties: { metaData: [{ name: 'n', type: 'number', required: true }] },
      });
      if (created.status !== 201) throw new Error(`event type: ${created.status}`);
      const path = '/v1/events/trigger/chaos_input';
      let deep = '1';
      for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
      return expectations([
        [
          'too large',
          async () =>
            (await post(stack, path, JSON.stringify({ metaData: { n: 1, pad: 'x'.repeat(2 * 1024 * 1024) } }))).status === 413 ? undefined : 'wanted 413',
        ],
        ['bad JSON', async () => ((await post(stack, path, '{"contact": ')).status === 400 ? undefined : 'wanted 400')],
        [
          'wrong type',
          async () => {
            const res = await post(stack, path, JSON.stringify({ contact: { email: 'c1@example.com' }, metaData: { n: 'seven' } }));
            if (res.status === 400) return res.text.includes('n') ? undefined : `400 without the path: ${res.text.slice(0, 200)}`;
            return res.status === 202 ? undefined : `answered ${res.status}`;
          },
        ],
        [
          'deep nesting',
          async () => {
            const res = await post(stack, path, `{"contact":{"email":"c1@example.com"},"metaData":${deep}}`);
            return res.status >= 400 && res.status < 500 ? undefined : `answered ${res.status}, wanted a 4xx`;
          },
        ],
        [
          'slow upload',
          async () => {
            const line = await slowUpload(stack.relay.gatewayUrl, stack.relay.apiKey, path, 40000);
            return / 408 /.test(line) ? undefined : `${line}, wanted 408`;
          },
        ],
        ['gateway still up', async () => ((await fetch(`${stack.relay.gatewayUrl}/health/ready`)).ok ? undefined : 'not ready')],
      ]);
    },
  },
  {
    name: 'auth-and-tenancy',
    rows: '16',
    async run(stack) {
      const other = await stack.relay.addTeam();
      const theirs = await stack.relay.api('POST', '/v1/webhooks', { url: `${stack.receiver.baseUrl}/r/other`, events: ['chaos_auth'] }, other.apiKey);
      const result = await expectations([
        ['missing key', async () => ((await post(stack, '/v1/events/trigger/x', '{}', { 'x-api-key': '' })).status === 401 ? undefined : 'wanted 401')],
        [
          'wrong key',
          async () => ((await post(stack, '/v1/events/trigger/x', '{}', { 'x-api-key': 'rly_live_nope' })).status === 401 ? undefined : 'wanted 401'),
        ],
        [
          "another team's webhook",
          async () => {
            if (theirs.status !== 201) return `could not create it (${theirs.status})`;
            const theirId = (theirs.body.data as { id: string }).id;
            const mine = await stack.relay.api('GET', `/v1/webhooks/${theirId}`);
            const missing = await stack.relay.api('GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000');
            return mine.status === 404 &&
              missing.status === 404 &&
              JSON.stringify(mine.body) === JSON.stringify(missing.body).replaceAll('00000000-0000-4000-8000-000000000000', theirId)
              ? undefined
              : `answered ${mine.status} ${JSON.stringify(mine.body)} vs ${missing.status} for a missing one`;
          },
        ],
      ]);
      result.notes.push('not covered here: key revocation and rate limits (their e2e specs: services/gateway/e2e/tenancy.e2e.spec.ts)');
      return result;
    },
  },
  {
    name: 'secret-rotation',
    rows: '17',
    async run(stack) {
      const fx = await stack.fixture('secret-rotation');
      const path = `/r/${fx.codeName}/rotated`;
      const created = await stack.relay.api('POST', '/v1/webhooks', { url: `${stack.receiver.baseUrl}${path}`, events: [fx.codeName] });
      const first = created.body.secret as string;
      const endpointId = (created.body.data as { id: string }).id;
      const sendAndGet = async (n: number) => {
        const res = await post(stack, `/v1/events/trigger/${fx.codeName}`, JSON.stringify({ contact: { email: 'c3@example.com' }, metaData: { n } }));
        const eventId = (JSON.parse(res.text) as { event_id: string }).event_id;
        const deadline = Date.now() + 60000;
        for (;;) {
          const got = stack.receiver.log.find((r) => r.path === path && r.items.some((i) => i.eventId === eventId));
          if (got) return got;
          if (Date.now() > deadline) throw new Error(`event ${n} not delivered within 60 s`);
          await sleep(200);
        }
      };
      const verifies = (secret: string, r: { body: string; headers: Record<string, string | string[] | undefined> }) => {
        try {
          new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
          return true;
        } catch {
          return false;
        }
      };
      const rotated = await stack.relay.api('POST', `/v1/webhooks/${endpointId}/rotate-secret`, { overlap_seconds: 3600 });
      const second = rotated.body.secret as string;
      const during = await sendAndGet(1);
      const ended = await stack.relay.api('POST', `/v1/webhooks/${endpointId}/rotate-secret`, { overlap_seconds: 0 });
      const third = ended.body.secret as string;
      const after = await sendAndGet(2);
      return expectations([
        ['during the overlap both secrets verify', async () => (verifies(first, during) && verifies(second, during) ? undefined : 'one of them did not')],
        [
          'right after a rotation without overlap only the new one verifies',
          async () => (verifies(third, after) && !verifies(second, after) && !verifies(first, after) ? undefined : 'wrong signatures'),
        ],
      ]);
    },
  },
  {
    name: 'scale-out',
    rows: 'scale-out',
    run: (stack) =>
      underLoad(stack, 'scale-out', {
        // One HTTP client, so that acknowledgement order is the per-contact order the receiver must see.
        load: { httpConcurrency: 1, kafkaBatch: 0 },
        fixture: { steadyConcurrency: 1 },
        async inject(s) {
          const extra = await s.addInstances(['validator', 'matcher', 'dispatcher']);
          await sleep(15000);
          await extra.stop();
        },
        check: async (s, fx, r) => {
          r.notes.push('history is not scaled out: embedded chDB is one process per data directory (a ClickHouse server is needed for two)');
          const inversions = orderInversions(s.ledger.of(fx.row), s.receiver.log, fx.steady.path, 'scenario_action');
          if (inversions) r.failures.push(`per-contact order: ${inversions} inversions at the steady endpoint`);
        },
      }),
  },
  {
    name: 'soak',
    rows: '18',
    run: (stack) => {
      const seconds = Number(process.env.RELAY_CHAOS_SOAK_S ?? 120);
      const stages: RelayServiceName[] = ['validator', 'matcher', 'dispatcher', 'history'];
      return underLoad(stack, 'soak', {
        async inject(s, fx) {
          const until = Date.now() + seconds * 1000;
          for (let i = 0; Date.now() < until; i++) {
            // Rows 1, 3, 4 and 8 in turn, overlapping with the receiver's errors.
            s.receiver.set(fx.primary.path, i % 2 ? { kind: 'status', status: 503 } : { kind: 'ok' });
            if (i % 4 === 0) await s.restartBroker();
            else if (i % 4 === 1) {
              await waitWarm(s, 'dispatcher');
              s.receiver.set(fx.steady.path, { kind: 'hook', action: () => s.relay.services.kill('dispatcher', 'SIGKILL') });
            } else await s.relay.services.kill(stages[i % stages.length] ?? 'matcher', 'SIGKILL');
            await sleep(8000);
          }
          s.receiver.set(fx.primary.path, { kind: 'ok' });
          s.receiver.set(fx.steady.path, { kind: 'ok' });
          for (const service of stages) await s.relay.services.waitReady(service, 60000).catch(() => undefined);
        },
        check: async (_s, _fx, r) => {
          r.notes.push(`${seconds} s (RELAY_CHAOS_SOAK_S; the matrix asks 600 s, which does not fit the run budget on 2 cores); memory not sampled`);
        },
      });
    },
  },
];
