/**
 * `npm run test:containers`: the five Relay services as containers of the Relay image, run
 * through the pipeline. Not part of `npm test` (it needs a Docker engine, root to get one,
 * and a few minutes more); see docs/deployment.md.
 *
 * 1. A Docker engine: used if `docker info` answers; otherwise, as root with apt, installs
 *    Debian's docker.io and starts `dockerd --storage-driver=vfs` in the background (log in
 *    the cache dir), and stops it at the end (RELAY_KEEP_DOCKERD=1 leaves it running).
 * 2. The image: infra/docker/base.sh (a registry-less Node 24 base, cached), then
 *    `docker build` of the Dockerfile with the classic builder and the host network (npm ci
 *    reaches the npm registry), cached by Docker's layer cache. RELAY_NODE_IMAGE=<image>
 *    builds on that base instead (e.g. node:24-bookworm-slim where a registry is reachable).
 * 3. The infrastructure the Jest harness starts (Kafka, Apicurio on free ports, PostgreSQL
 *    at RELAY_PG_URL), on the host. The containers share the host's network, so they reach
 *    it on 127.0.0.1, and each service listens on a free port.
 * 4. testcontainers runs each service with what docker-compose.yml gives it: command,
 *    environment, healthcheck (the wait strategy), `init` and `stop_grace_period`. Only the
 *    addresses and ports (host network instead of the compose network), the embedded
 *    history engine (no ClickHouse server here) and a few test speed-ups differ, all listed
 *    in `overrides` below. Ryuk (the reaper, an image from Docker Hub) is disabled: this
 *    script removes its containers itself, and those of an earlier run that was killed.
 * 5. Checks: non-root user, event type → trigger → validated → history → webhook delivered
 *    to a receiver on the host and its Standard Webhooks signature verified; SIGTERM
 *    stops every service within its grace period, and events accepted just before history
 *    is stopped are all in history once it is back. Ends with `N passed, N failed`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { ApiKeysRepository, TeamsRepository, createPool } from '@relay/control-plane';
import { isProcessAlive, SERVICE_NAMES, type RelayServiceName } from '@relay/local-stack';
import { callJson, createMigratedDatabase, dropTestDatabase, eventually, startTestStack, DEFAULT_PG_URL, type TestStack } from '@relay/testing';
import { REPO_ROOT, commandText, environmentOf, isRecord, loadCompose, scalar, type Rec } from './compose-file';

// testcontainers reads this when it first talks to the engine.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

const say = (line: string) => console.log(`[containers] ${line}`);
const cacheDir = process.env.RELAY_CACHE_DIR || path.join(homedir(), '.cache', 'relay');
const BASE_IMAGE = 'relay/node:24-bookworm';
const IMAGE = 'relay:test';
const OWNER_LABEL = 'relay.test-containers.owner';

let passed = 0;
let failed = 0;
async function check(title: string, run: () => Promise<void>): Promise<boolean> {
  const started = Date.now();
  try {
    await run();
    passed++;
    say(`ok   ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    failed++;
    say(`FAIL ${title}: ${(error as Error).message}`);
    return false;
  }
}
function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------- the Docker engine

const dockerAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Returns the pid of a dockerd this script started, or undefined when one was already up. */
async function ensureDocker(): Promise<number | undefined> {
  if (has('docker') && dockerAnswers()) return undefined;
  const isRoot = process.getuid?.() === 0;
  const missing = [!has('dockerd') && 'the Docker engine (dockerd)', !has('debootstrap') && 'debootstrap'].filter(Boolean);
  if (missing.length > 0) {
    if (!isRoot || !has('apt-get')) {
      throw new Error(
        `missing ${missing.join(' and ')}, and this script can only install them as root with apt-get ` +
          `(root: ${isRoot ? 'yes' : 'no'}, apt-get: ${has('apt-get') ? 'yes' : 'no'}). ` +
          'Install docker.io and debootstrap, start dockerd, and run it again.',
      );
    }
    say('installing docker.io and debootstrap with apt-get');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap > /dev/null'], {
      stdio: 'inherit',
    });
  }
  if (!isRoot) throw new Error('no Docker engine answers (docker info), and starting dockerd needs root');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = path.join(cacheDir, 'dockerd.log');
  say(`starting dockerd --storage-driver=vfs (log: ${logFile})`);
  const out = openSync(logFile, 'a');
  const daemon = spawn('dockerd', ['--storage-driver=vfs'], { detached: true, stdio: ['ignore', out, out] });
  daemon.unref();
  await eventually(async () => (dockerAnswers() ? true : undefined), 60000, 500).catch(() => {
    throw new Error(`dockerd did not answer within 60 s: see ${logFile}`);
  });
  return daemon.pid;
}

// ---------------------------------------------------------------- the image

function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout?.toString() ?? ''}${result.stderr?.toString() ?? ''}`);
    throw new Error(`${title} failed (exit ${result.status})`);
  }
  say(`${title}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const imageId = (name: string): string | undefined => {
  const result = spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
};

function buildImage(): void {
  const base = process.env.RELAY_NODE_IMAGE || BASE_IMAGE;
  if (!process.env.RELAY_NODE_IMAGE) run(`base image ${BASE_IMAGE} (infra/docker/base.sh)`, 'bash', [path.join(REPO_ROOT, 'infra/docker/base.sh')]);
  const before = imageId(IMAGE);
  // The classic builder: --network host is all npm ci needs to reach the registry, and it
  // behaves the same whatever docker CLI is installed (with or without buildx).
  run(`image ${IMAGE} on ${base}`, 'docker', ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${base}`, '-t', IMAGE, '.'], {
    ...process.env,
    DOCKER_BUILDKIT: '0',
  });
  const after = imageId(IMAGE);
  // vfs stores every layer as a full copy of the tree: drop the image this build replaced.
  if (before && after && before !== after) spawnSync('docker', ['image', 'rm', before], { stdio: 'ignore' });
}

/** Containers of earlier runs whose process is gone (killed before its cleanup). */
function removeStaleContainers(): void {
  const list = spawnSync('docker', ['ps', '-a', '--filter', `label=${OWNER_LABEL}`, '--format', `{{.ID}} {{.Label "${OWNER_LABEL}"}}`], {
    encoding: 'utf8',
  });
  for (const line of list.stdout.split('\n').filter(Boolean)) {
    const [id, owner] = line.split(' ');
    if (id && Number(owner) !== process.pid && !isProcessAlive(Number(owner))) {
      say(`removing container ${id} left by an earlier run`);
      spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
  }
}

// ---------------------------------------------------------------- the services, from docker-compose.yml

interface ServicePlan {
  name: RelayServiceName;
  port: number;
  command: string[];
  env: Record<string, string>;
  healthcheck: string[];
  init: boolean;
  graceMs: number;
}

function durationMs(text: string, where: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`${where}: unsupported duration ${text}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000);
}

function planServices(ports: Record<RelayServiceName, number>, overrides: (name: RelayServiceName) => Record<string, string | null>): ServicePlan[] {
  const compose = loadCompose();
  return SERVICE_NAMES.map((name) => {
    const service: Rec | undefined = compose.services[name];
    if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
    const where = `docker-compose.yml ${name}`;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...environmentOf(service, where), ...overrides(name) })) {
      if (value !== null) env[key] = value;
    }
    const portKey = `RELAY_${name.toUpperCase()}_PORT`;
    const composePort = env[portKey];
    if (!composePort) throw new Error(`${where}: no ${portKey}`);
    env[portKey] = String(ports[name]);
    const test =
      isRecord(service.healthcheck) && Array.isArray(service.healthcheck.test)
        ? service.healthcheck.test.map((t, i) => scalar(t, `${where} healthcheck.test[${i}]`))
        : [];
    if (test[0] !== 'CMD' || !test.some((t) => t.includes(`:${composePort}/health/ready`))) {
      throw new Error(`${where}: the healthcheck must be a CMD that asks :${composePort}/health/ready`);
    }
    return {
      name,
      port: ports[name],
      command: commandText(service, where).split(' '),
      env,
      // Same probe on the port this run gives the service (host network: no port of its own).
      healthcheck: test.map((t) => t.replace(`:${composePort}/health/ready`, `:${ports[name]}/health/ready`)),
      init: service.init === true,
      graceMs: durationMs(scalar(service.stop_grace_period ?? '10s', `${where} stop_grace_period`), where),
    };
  });
}

/**
 * A free port below the kernel's ephemeral range. The services bind theirs a minute or more
 * after the ports are chosen (containers boot slowly on a busy machine); a port from the
 * ephemeral range (what binding port 0 gives) can meanwhile be taken by any outgoing
 * connection on the host, Kafka clients included.
 */
async function stablePort(taken: Set<number>): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const top = Math.min(low ?? 32768, 32768) - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (top - 20000));
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createNetServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port found below the ephemeral range');
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const startedAt = Date.now();
  const startedDaemon = await ensureDocker();
  // Imported once an engine answers: testcontainers looks for one as it loads its client.
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>>;

  /** GenericContainer with compose's `init: true` (tini as PID 1 forwards SIGTERM to node). */
  class ServiceContainer extends GenericContainer {
    constructor(image: string, init: boolean) {
      super(image);
      this.hostConfig.Init = init;
    }
  }

  const client = await getContainerRuntimeClient();
  const inspect = (container: Started) => client.container.getById(container.getId()).inspect();
  removeStaleContainers();
  buildImage();

  let stack: TestStack | undefined;
  let pgUrl: string | undefined;
  let pool: ReturnType<typeof createPool> | undefined;
  const containers = new Map<RelayServiceName, Started>();
  const logs = new Map<string, string[]>();
  const receiver = createServer();
  let historyData = '';
  try {
    stack = await startTestStack({ pgUrl: process.env.RELAY_PG_URL || DEFAULT_PG_URL, cacheDir: process.env.RELAY_CACHE_DIR || undefined });
    const infra = stack;
    const topicPrefix = `c${randomBytes(5).toString('hex')}`;
    pgUrl = await createMigratedDatabase(infra.pgUrl);
    const servicePgUrl = pgUrl;
    pool = createPool(pgUrl, 2);
    const team = await new TeamsRepository(pool).create('containers');
    const apiKey = (await new ApiKeysRepository(pool, 0).create(team.id, 'production', { name: 'containers' })).key;

    const requests: { body: string; headers: IncomingHttpHeaders }[] = [];
    receiver.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // Listening before the services start: they allow exactly its host:port.
    const receiverTarget = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const receiverUrl = `http://${receiverTarget}/hook`;

    const ports = {} as Record<RelayServiceName, number>;
    const taken = new Set<number>();
    for (const name of SERVICE_NAMES) ports[name] = await stablePort(taken);
    const gatewayMetricsPort = await stablePort(taken);
    const secretKey = randomBytes(32).toString('hex');
    const historyToken = `rly_hist_${randomBytes(24).toString('base64url')}`;
    const plans = planServices(ports, (name) => ({
      // Host network: the infrastructure and the other services are on 127.0.0.1.
      RELAY_KAFKA_BROKERS: infra.brokers.join(','),
      RELAY_REGISTRY_URL: infra.registryUrl,
      ...(name === 'history' ? {} : { RELAY_PG_URL: servicePgUrl }),
      ...(name === 'gateway'
        ? {
            RELAY_HISTORY_URL: `http://127.0.0.1:${ports.history}`,
            RELAY_GATEWAY_HOST: '127.0.0.1',
            RELAY_GATEWAY_METRICS_PORT: String(gatewayMetricsPort),
            RELAY_GATEWAY_METRICS_HOST: '127.0.0.1',
          }
        : {}),
      ...(name === 'history' ? { RELAY_HISTORY_HOST: '127.0.0.1' } : {}),
      // The service credential between the gateway and history, generated as a deployment would.
      ...(name === 'gateway' || name === 'history' ? { RELAY_HISTORY_TOKEN: historyToken } : {}),
      RELAY_TOPIC_PREFIX: topicPrefix,
      // No ClickHouse server here: history uses the embedded engine in /app/.relay (the
      // image's one writable directory), which drops CLICKHOUSE_* from compose.
      CLICKHOUSE_URL: null,
      CLICKHOUSE_USER: null,
      CLICKHOUSE_PASSWORD: null,
      CLICKHOUSE_DATABASE: null,
      // The receiver listens on the host's loopback: the gateway accepts such an endpoint
      // URL and the dispatcher delivers to it only with its exact host:port allowed.
      ...(name === 'gateway' || name === 'dispatcher' ? { RELAY_WEBHOOK_SECRET_KEY: secretKey, RELAY_WEBHOOK_ALLOWED_TARGETS: receiverTarget } : {}),
      // Shorter poll and flush for a quick run.
      ...(name === 'dispatcher' ? { RELAY_WEBHOOK_POLL_MS: '50' } : {}),
      ...(name === 'history' ? { RELAY_HISTORY_FLUSH_MS: '50' } : {}),
    }));
    const plan = (name: RelayServiceName) => plans.find((p) => p.name === name) as ServicePlan;
    historyData = mkdtempSync(path.join(tmpdir(), 'relay-containers-history-'));
    // The image's service user (uid/gid 1000) writes there.
    chownSync(historyData, 1000, 1000);

    const startService = async (p: ServicePlan): Promise<Started> => {
      const lines: string[] = [];
      logs.set(p.name, lines);
      let container = new ServiceContainer(IMAGE, p.init)
        .withName(`relay-${topicPrefix}-${p.name}-${randomBytes(2).toString('hex')}`)
        .withLabels({ [OWNER_LABEL]: String(process.pid) })
        .withNetworkMode('host')
        .withCommand(p.command)
        .withEnvironment(p.env)
        // Compose's probe and timeout; checked every second rather than every 10 s.
        // Booting compiles the sources with SWC: minutes on a busy 2-core machine.
        .withHealthCheck({ test: p.healthcheck as ['CMD', ...string[]], interval: 1000, timeout: 5000, retries: 600, startPeriod: 1000 })
        .withWaitStrategy(Wait.forHealthCheck())
        .withStartupTimeout(600000)
        .withLogConsumer((stream: Readable) => {
          stream.on('data', (chunk: Buffer | string) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
        });
      // History's embedded engine keeps its data in /app/.relay: a volume, as a deployment
      // without a ClickHouse server would have, so a restarted history finds what it wrote.
      if (p.name === 'history') container = container.withBindMounts([{ source: historyData, target: '/app/.relay', mode: 'rw' }]);
      const started = await container.start();
      containers.set(p.name, started);
      return started;
    };

    /** SIGTERM through `docker stop` with compose's grace period; the container is kept for inspection. */
    const stopService = async (name: RelayServiceName) => {
      const container = containers.get(name);
      if (!container) throw new Error(`${name} is not running`);
      const started = Date.now();
      await container.stop({ timeout: plan(name).graceMs, remove: false });
      const took = Date.now() - started;
      const state = (await inspect(container)).State;
      say(`${name} stopped in ${(took / 1000).toFixed(1)} s, exit code ${state.ExitCode}`);
      await client.container.getById(container.getId()).remove({ force: true });
      containers.delete(name);
      return { took, exitCode: state.ExitCode, oomKilled: state.OOMKilled };
    };
    const expectGracefulStop = (name: RelayServiceName, stop: { took: number; exitCode: number }) => {
      // 137 = 128 + SIGKILL: the engine had to kill it at the end of the grace period.
      expect(stop.exitCode !== 137, `${name} was killed (exit 137) after ${stop.took} ms`);
      expect(stop.took < plan(name).graceMs, `${name} took ${stop.took} ms to stop, grace period ${plan(name).graceMs} ms`);
      expect([0, 143].includes(stop.exitCode), `${name} exited ${stop.exitCode} on SIGTERM`);
    };

    const gateway = `http://127.0.0.1:${ports.gateway}`;
    const api = <T = Record<string, unknown>>(method: string, route: string, body?: unknown) =>
      callJson<T>(`${gateway}${route}`, method, body, { 'x-api-key': apiKey });

    // Everything but the dispatcher first: the webhook endpoint is created before the
    // dispatcher starts, so its first look at the endpoints already has it (no cache race).
    const first = SERVICE_NAMES.filter((n) => n !== 'dispatcher');
    const booted = Date.now();
    const startedOk = await check(`${first.join(', ')} start from ${IMAGE} and answer their compose healthcheck`, async () => {
      await Promise.all(first.map((n) => startService(plan(n))));
    });
    if (!startedOk) return 1;
    say(`four services ready in ${((Date.now() - booted) / 1000).toFixed(1)} s`);

    const code = 'order_shipped';
    let secret = '';
    await check('event type and webhook endpoint created through the gateway container', async () => {
      const type = await api('POST', '/v1/events', {
        name: 'Order shipped',
        code_name: code,
        properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] },
      });
      expect(type.status === 201, `POST /v1/events: ${type.status} ${JSON.stringify(type.body)}`);
      const contact = await api('PUT', '/v1/contacts/c-ship', { email: 'ship@example.com' });
      expect(contact.status === 201, `PUT /v1/contacts: ${contact.status} ${JSON.stringify(contact.body)}`);
      const endpoint = await api<{ data: { id: string }; secret: string }>('POST', '/v1/webhooks', { url: receiverUrl, events: [code] });
      expect(endpoint.status === 201, `POST /v1/webhooks: ${endpoint.status} ${JSON.stringify(endpoint.body)}`);
      secret = endpoint.body.secret;
    });
    const dispatcherOk = await check('dispatcher starts from the same image', async () => {
      await startService(plan('dispatcher'));
    });
    if (!dispatcherOk) return 1;

    await check("every service runs as the non-root user node (uid 1000), with compose's init", async () => {
      for (const [name, container] of containers) {
        const id = await container.exec(['id', '-u']);
        expect(id.exitCode === 0 && id.output.trim() === '1000', `${name}: id -u says ${JSON.stringify(id.output.trim())}`);
        const info = await inspect(container);
        expect(info.Config.User === 'node', `${name}: image user ${JSON.stringify(info.Config.User)}`);
        expect(info.HostConfig.Init === plan(name).init, `${name}: init ${String(info.HostConfig.Init)}`);
      }
    });

    const trigger = async (orderId: number) => {
      const res = await api<{ event_id: string }>('POST', `/v1/events/trigger/${code}`, {
        contact: { email: 'ship@example.com' },
        metaData: { order_id: orderId },
      });
      expect(res.status === 202, `trigger: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.event_id;
    };
    type HistoryRow = { status: string; errors: string[]; schema_version: number; deliveries: { kind: string; status: string }[] };
    const historyRow = async (eventId: string) => {
      const res = await api<{ data: HistoryRow }>('GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 ? res.body.data : undefined;
    };

    await check('pipeline: trigger → validated → history → webhook delivered, signature verified (standardwebhooks)', async () => {
      const bad = await api('POST', `/v1/events/trigger/${code}`, { contact: { email: 'ship@example.com' }, metaData: { order_id: 'x' } });
      expect(bad.status === 400, `an invalid payload got ${bad.status}, not 400`);
      const eventId = await trigger(1);
      const request = await eventually(async () => requests.find((r) => r.body.includes(eventId)), 60000);
      const verified = new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as Record<string, unknown>;
      expect(verified.event_id === eventId && verified.code_name === code, `delivered payload ${request.body}`);
      const payload = verified.payload as { metaData?: unknown } | undefined;
      expect(JSON.stringify(payload?.metaData) === JSON.stringify({ order_id: 1 }), `delivered payload ${JSON.stringify(payload)}`);
      const row = await eventually(async () => {
        const got = await historyRow(eventId);
        return got?.deliveries.some((d) => d.kind === 'subscription' && d.status === 'delivered') ? got : undefined;
      }, 60000);
      expect(row.status !== 'rejected' && row.errors.length === 0 && row.schema_version === 1, `history row ${JSON.stringify(row)}`);
    });

    await check('history stops on SIGTERM within its grace period; events accepted just before are all in history after a restart', async () => {
      const accepted: string[] = [];
      for (let i = 0; i < 20; i++) accepted.push(await trigger(100 + i));
      const stop = await stopService('history');
      expectGracefulStop('history', stop);
      await startService(plan('history'));
      await eventually(async () => {
        const rows = await Promise.all(accepted.map((id) => historyRow(id)));
        return rows.every(Boolean) ? true : undefined;
      }, 90000);
    });

    for (const name of ['gateway', 'validator', 'matcher', 'dispatcher', 'history'] as const) {
      await check(`${name} stops on SIGTERM within its grace period (${plan(name).graceMs / 1000} s)`, async () => {
        expectGracefulStop(name, await stopService(name));
      });
    }
    return failed === 0 ? 0 : 1;
  } catch (error) {
    failed++;
    say(`FAIL ${(error as Error).stack ?? String(error)}`);
    return 1;
  } finally {
    if (failed > 0) {
      for (const [name, lines] of logs) {
        console.log(`\n--- last log lines of ${name}`);
        console.log(lines.slice(-60).join('\n'));
      }
    }
    await Promise.all([...containers.values()].map((c) => c.stop({ timeout: 0 }).catch(() => undefined)));
    receiver.closeAllConnections();
    receiver.close();
    await pool?.end();
    if (pgUrl) await dropTestDatabase(pgUrl).catch(() => undefined);
    await stack?.stop();
    if (historyData) rmSync(historyData, { recursive: true, force: true });
    if (startedDaemon !== undefined && process.env.RELAY_KEEP_DOCKERD !== '1') {
      say(`stopping the dockerd this run started (pid ${startedDaemon})`);
      process.kill(startedDaemon, 'SIGTERM');
      await eventually(async () => (isProcessAlive(startedDaemon) ? undefined : true), 30000).catch(() => undefined);
    }
    say(`total ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  }
}

void main()
  .catch((error: unknown) => {
    failed++;
    say(`FAIL ${(error as Error).message}`);
    return 1;
  })
  .then((status) => {
    console.log(`\n${passed} passed, ${failed} failed`);
    process.exit(status === 0 && failed === 0 ? 0 : 1);
  });
