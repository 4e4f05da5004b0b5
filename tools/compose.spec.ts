/**
 * Keeps docker-compose.yml, the Dockerfile and infra/prometheus/prometheus.yml true without
 * a Docker engine: the compose file is parsed as Compose would (YAML merge keys, then
 * `${VAR:-default}` substitution with an empty shell environment, so every default is what
 * gets checked), and each Relay service's environment goes through the same zod schema and
 * loadConfig the service runs at boot (libs/config). Failures name the file, the service
 * and the variable, so a drift reads as a to-do list.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { parse } from 'yaml';
import { ConfigError, loadConfig, serviceConfigSchemas, type ConfigSchema, type ServiceName } from '@relay/config';
import {
  COMPOSE_FILE,
  REPO_ROOT as root,
  commandText,
  containerPorts,
  environmentOf,
  healthcheckText,
  isRecord,
  publishedHostIps,
  loadCompose,
  recordAt,
  scalar,
  type Rec,
} from './compose-file';

const PROMETHEUS_FILE = 'infra/prometheus/prometheus.yml';
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

const SERVICES = Object.keys(serviceConfigSchemas) as ServiceName[];
/** Addresses for clients outside the compose network (not peers a service connects to); none today. */
const EXTERNAL_ADDRESS_KEYS = new Set<string>();
const DEPENDS_ON_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

// ---------------------------------------------------------------- helpers

/** depends_on as name → condition (the short list syntax has none: reported by a test). */
function dependsOn(service: Rec): Record<string, string | undefined> {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [scalar(d, 'depends_on entry'), undefined]));
  if (!isRecord(deps)) return {};
  return Object.fromEntries(Object.entries(deps).map(([name, v]) => [name, isRecord(v) && typeof v.condition === 'string' ? v.condition : undefined]));
}

/** Hosts (and ports) a config value points at: URLs and host:port lists. */
function addressesIn(value: unknown): { host: string; port: number | null }[] {
  const strings = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
  return strings.map((s) => {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
      const u = new URL(s);
      const defaultPort = u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : null;
      return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort };
    }
    const [host = '', port] = s.split(':');
    return { host, port: port ? Number(port) : null };
  });
}

const isLoopback = (host: string): boolean => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i.test(host);

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length] ?? 0;
}

function closest(name: string, candidates: string[]): string | undefined {
  const ranked = candidates.map((c) => ({ c, d: editDistance(name, c) })).sort((x, y) => x.d - y.d);
  const best = ranked[0];
  return best && best.d <= Math.max(3, Math.floor(name.length / 4)) ? best.c : undefined;
}

const schemaOf = (name: ServiceName): ConfigSchema => serviceConfigSchemas[name];
const declaredPortKeys = (name: ServiceName): string[] => Object.keys(schemaOf(name).shape).filter((k) => k.endsWith('_PORT'));

function prometheusTargets(): string[] {
  const doc = recordAt(parse(read(PROMETHEUS_FILE)), PROMETHEUS_FILE);
  const jobs = doc.scrape_configs;
  if (!Array.isArray(jobs)) throw new Error(`${PROMETHEUS_FILE}: scrape_configs must be a list`);
  const targets: string[] = [];
  for (const job of jobs) {
    const statics = recordAt(job, `${PROMETHEUS_FILE} scrape config`).static_configs;
    if (!Array.isArray(statics)) continue;
    for (const sc of statics) {
      const list = recordAt(sc, `${PROMETHEUS_FILE} static_configs entry`).targets;
      if (Array.isArray(list)) targets.push(...list.map((t, i) => scalar(t, `${PROMETHEUS_FILE} targets[${i}]`)));
    }
  }
  return targets;
}

function pomProperty(file: string, property: string): string {
  const match = new RegExp(`<${property.replace(/\./g, '\\.')}>([^<]+)</`).exec(read(file));
  if (!match?.[1]) throw new Error(`${file} has no <${property}>`);
  return match[1].trim();
}

const imageTag = (service: Rec, where: string): string => scalar(service.image, `${where} image`).split(':').pop() ?? '';

// ---------------------------------------------------------------- the checks

const compose = loadCompose();

/** Each Relay service's environment (resolved) and the config its schema makes of it. */
function configOf(name: ServiceName): { env: Record<string, string>; config: Readonly<Record<string, unknown>> } {
  const service = compose.services[name];
  if (!service) throw new Error(`${COMPOSE_FILE}: no service "${name}"`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(environmentOf(service, name))) if (v !== null) env[k] = v;
  try {
    return { env, config: loadConfig(name, schemaOf(name), env) };
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`${COMPOSE_FILE}: the environment of ${name} fails its schema.\n${error.message}`);
    throw error;
  }
}

const declaredPorts = (name: ServiceName): number[] => {
  const { config } = configOf(name);
  return declaredPortKeys(name).map((k) => Number(config[k]));
};

describe(COMPOSE_FILE, () => {
  it("resolves every ${VAR} substitution without the caller's shell (each has a default)", () => {
    expect(compose.substitutionProblems).toEqual([]);
  });

  it('defines the five Relay services', () => {
    expect(SERVICES.filter((name) => !compose.services[name])).toEqual([]);
  });

  it('passes RELAY_WEBHOOK_SECRET_KEY to every service that encrypts or decrypts webhook secrets', () => {
    // A key set in .env must reach the gateway (which encrypts) and the dispatcher (which
    // decrypts) alike, or signing secrets written by one cannot be read by the other.
    const needing = SERVICES.filter((name) => 'RELAY_WEBHOOK_SECRET_KEY' in schemaOf(name).shape);
    expect(needing).toEqual(expect.arrayContaining(['gateway', 'dispatcher']));
    const missing = needing.filter((name) => !('RELAY_WEBHOOK_SECRET_KEY' in environmentOf(compose.services[name] ?? {}, name)));
    expect(missing).toEqual([]);
  });

  describe.each(SERVICES)('%s', (name) => {
    const service = (): Rec => {
      const s = compose.services[name];
      if (!s) throw new Error(`${COMPOSE_FILE}: no service "${name}"`);
      return s;
    };

    it('is built from the Dockerfile and runs its own main.ts through tools/register.js', () => {
      const s = service();
      const build = s.build;
      const problems: string[] = [];
      if (typeof build === 'string') {
        if (!['.', './'].includes(build)) problems.push(`build context is ${build}, expected the repository root`);
      } else if (isRecord(build)) {
        if (!['.', './'].includes(String(build.context))) problems.push(`build.context must be the repository root (.)`);
        if (build.dockerfile !== undefined && build.dockerfile !== 'Dockerfile') problems.push(`build.dockerfile must be Dockerfile`);
      } else {
        problems.push('has no build: it must be built from the Dockerfile');
      }
      const command = commandText(s, name);
      if (!command.includes('tools/register.js')) problems.push(`command does not load tools/register.js: "${command}"`);
      if (!command.includes(`services/${name}/src/main.ts`)) problems.push(`command does not run services/${name}/src/main.ts: "${command}"`);
      for (const other of SERVICES.filter((o) => o !== name)) {
        if (command.includes(`services/${other}/`)) problems.push(`command runs ${other}'s code`);
      }
      if ('env_file' in s) problems.push('uses env_file: keep the environment in the compose file, where this spec can check it');
      expect(problems).toEqual([]);
    });

    it('sets only variables its config schema knows', () => {
      const known = Object.keys(schemaOf(name).shape);
      const unknown = Object.keys(environmentOf(service(), name))
        .filter((k) => !known.includes(k))
        .map((k) => {
          const hint = closest(k, known);
          return `${name}: ${k} is not a ${name} variable${hint ? ` (did you mean ${hint}?)` : ''}`;
        });
      expect(unknown).toEqual([]);
    });

    it('has no pass-through variables (KEY without a value)', () => {
      const bare = Object.entries(environmentOf(service(), name))
        .filter(([, v]) => v === null)
        .map(([k]) => `${name}: ${k} takes its value from the caller's shell; write ${k}: \${${k}:-default}`);
      expect(bare).toEqual([]);
    });

    it('has an environment that passes its config schema (loadConfig, as at boot)', () => {
      expect(() => configOf(name)).not.toThrow();
    });

    it('binds and connects to containers, not to its own loopback', () => {
      const { config } = configOf(name);
      const problems: string[] = [];
      for (const [key, value] of Object.entries(config)) {
        if (EXTERNAL_ADDRESS_KEYS.has(key)) continue;
        if (key.endsWith('_HOST') && typeof value === 'string' && isLoopback(value)) {
          problems.push(`${name}: ${key}=${value} listens on loopback only; other containers (and Prometheus) cannot reach it`);
        }
        if (key.endsWith('_URL') || key.endsWith('_BROKERS')) {
          for (const { host } of addressesIn(value)) {
            if (!compose.services[host]) {
              problems.push(
                `${name}: ${key} points at ${host}, which is not a compose service${isLoopback(host) ? ' (the schema default is for a local run; set it)' : ''}`,
              );
            }
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('depends, with a condition, on every container its config points at', () => {
      const { config } = configOf(name);
      const deps = dependsOn(service());
      const problems: string[] = [];
      for (const [key, value] of Object.entries(config)) {
        if (EXTERNAL_ADDRESS_KEYS.has(key) || !(key.endsWith('_URL') || key.endsWith('_BROKERS'))) continue;
        for (const { host, port } of addressesIn(value)) {
          if (!compose.services[host]) continue; // reported by the loopback/containers check
          if (!(host in deps)) problems.push(`${name}: ${key} points at ${host}, but depends_on does not list ${host}`);
          // A Relay peer must be addressed on the port its own config declares.
          if ((SERVICES as string[]).includes(host) && port !== null && !declaredPorts(host as ServiceName).includes(port)) {
            problems.push(`${name}: ${key} uses ${host}:${port}, but ${host} listens on ${declaredPorts(host as ServiceName).join(', ')}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('publishes, healthchecks and is scraped on the port its config declares', () => {
      const s = service();
      const ports = declaredPorts(name);
      const published = containerPorts(s, name);
      const health = healthcheckText(s);
      const healthPorts = [...health.matchAll(/https?:\/\/[^/:\s'"]+:(\d+)\/health\//g)].map((m) => Number(m[1]));
      const targets = prometheusTargets().filter((t) => t.split(':')[0] === name);
      const problems: string[] = [];
      if (ports.length === 0) problems.push(`${name}'s schema declares no *_PORT variable`);
      for (const port of ports) {
        if (!published.includes(port)) problems.push(`${name} listens on ${port} but publishes container port(s) ${published.join(', ') || 'none'}`);
      }
      for (const p of published)
        if (!ports.includes(p)) problems.push(`${name} publishes container port ${p}, which its config does not declare (${ports.join(', ')})`);
      if (healthPorts.length === 0) problems.push(`${name} has no healthcheck hitting http://…:<port>/health/…`);
      for (const p of healthPorts) if (!ports.includes(p)) problems.push(`${name}'s healthcheck hits port ${p}, but it listens on ${ports.join(', ')}`);
      if (targets.length === 0) problems.push(`${PROMETHEUS_FILE} does not scrape ${name}`);
      for (const t of targets) {
        const port = Number(t.split(':')[1]);
        if (!ports.includes(port)) problems.push(`${PROMETHEUS_FILE} scrapes ${t}, but ${name} listens on ${ports.join(', ')}`);
      }
      expect(problems).toEqual([]);
    });
  });

  it("scrapes the gateway's /metrics on its metrics port, published on the host's loopback only, not on the public API port", () => {
    const { config } = configOf('gateway');
    const metricsPort = Number(config.RELAY_GATEWAY_METRICS_PORT);
    expect(metricsPort).not.toBe(Number(config.RELAY_GATEWAY_PORT));
    expect(prometheusTargets().filter((t) => t.split(':')[0] === 'gateway')).toEqual([`gateway:${metricsPort}`]);
    const ports = compose.services.gateway?.ports;
    const published = (Array.isArray(ports) ? ports : []).map(String).filter((p) => p.endsWith(`:${metricsPort}`));
    expect(published).toEqual([`127.0.0.1:${metricsPort}:${metricsPort}`]);
  });

  it('publishes internal services on the loopback only: the gateway is the one public port', () => {
    const problems: string[] = [];
    for (const [name, s] of Object.entries(compose.services)) {
      if (name === 'gateway' || !isRecord(s)) continue;
      for (const ip of publishedHostIps(s, name)) {
        if (ip !== '127.0.0.1') problems.push(`${name} publishes on ${ip}: bind it to 127.0.0.1 (or publish nothing)`);
      }
    }
    expect(problems).toEqual([]);
    // The check reads what it should: the short and long syntaxes, with and without an address.
    expect(publishedHostIps({ ports: ['127.0.0.1:3004:3004', '3004:3004', '3004', { target: 1, host_ip: '127.0.0.1' }, { target: 1 }] }, 't')).toEqual([
      '127.0.0.1',
      '0.0.0.0',
      '0.0.0.0',
      '127.0.0.1',
      '0.0.0.0',
    ]);
  });

  it('gives the gateway and history the same service token', () => {
    const gateway = environmentOf(compose.services.gateway ?? {}, 'gateway');
    const history = environmentOf(compose.services.history ?? {}, 'history');
    expect(gateway.RELAY_HISTORY_TOKEN).toBeDefined();
    expect(gateway.RELAY_HISTORY_TOKEN).toBe(history.RELAY_HISTORY_TOKEN);
  });

  it('builds the five Relay services into one image', () => {
    const images = new Set(SERVICES.map((name) => compose.services[name]?.image));
    expect([...images]).toHaveLength(1);
  });

  it('uses the ClickHouse server for history, with the credentials the server is given', () => {
    const { config } = configOf('history');
    const clickhouse = environmentOf(compose.services.clickhouse ?? {}, 'clickhouse');
    const problems: string[] = [];
    if (config.CLICKHOUSE_URL === undefined) {
      problems.push('history: CLICKHOUSE_URL is unset, so history would write the embedded chDB inside its container, not the clickhouse service');
    }
    if (config.CLICKHOUSE_USER !== clickhouse.CLICKHOUSE_USER || config.CLICKHOUSE_PASSWORD !== clickhouse.CLICKHOUSE_PASSWORD) {
      problems.push("history: CLICKHOUSE_USER/CLICKHOUSE_PASSWORD differ from the clickhouse service's");
    }
    expect(problems).toEqual([]);
  });

  it('gives the PostgreSQL users the credentials the server is created with', () => {
    const pg = environmentOf(compose.services.postgres ?? {}, 'postgres');
    const problems: string[] = [];
    for (const name of SERVICES) {
      const url = configOf(name).config.RELAY_PG_URL;
      if (typeof url !== 'string') continue;
      const u = new URL(url);
      const got = { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), db: u.pathname.slice(1) };
      const want = { user: pg.POSTGRES_USER, password: pg.POSTGRES_PASSWORD, db: pg.POSTGRES_DB };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${name}: RELAY_PG_URL does not match the postgres service's POSTGRES_USER/PASSWORD/DB`);
    }
    expect(problems).toEqual([]);
  });

  it('runs Kafka in KRaft mode with topic auto-creation off, at the version of infra/kafka/pom.xml', () => {
    const kafka = compose.services.kafka ?? {};
    const env = environmentOf(kafka, 'kafka');
    expect(scalar(kafka.image, 'kafka image')).toMatch(/^apache\/kafka:4\./);
    expect(imageTag(kafka, 'kafka')).toBe(pomProperty('infra/kafka/pom.xml', 'kafka.version'));
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    // The address every service is given must be one the broker advertises.
    const brokers = new Set(SERVICES.flatMap((name) => addressesIn(configOf(name).config.RELAY_KAFKA_BROKERS)).map((a) => `${a.host}:${a.port}`));
    const advertised = (env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((l) => l.replace(/^[A-Z_]+:\/\//, ''));
    expect([...brokers].filter((b) => !advertised.includes(b))).toEqual([]);
  });

  it('runs Apicurio Registry 3 on PostgreSQL, at the version of infra/apicurio/pom.xml', () => {
    const apicurio = compose.services.apicurio ?? {};
    const env = environmentOf(apicurio, 'apicurio');
    expect(scalar(apicurio.image, 'apicurio image')).toMatch(/^apicurio\/apicurio-registry:3\./);
    expect(imageTag(apicurio, 'apicurio')).toBe(pomProperty('infra/apicurio/pom.xml', 'apicurio.version'));
    expect({ kind: env.APICURIO_STORAGE_KIND, sql: env.APICURIO_STORAGE_SQL_KIND }).toEqual({ kind: 'sql', sql: 'postgresql' });
    const jdbc = /^jdbc:postgresql:\/\/([^:/]+)(?::\d+)?\/([A-Za-z0-9_]+)$/.exec(env.APICURIO_DATASOURCE_URL ?? '');
    expect(jdbc?.[1]).toBe('postgres');
    expect(dependsOn(apicurio).postgres).toBe('service_healthy');
    // The role and database it logs in with are the ones the init script creates.
    const configs = recordAt(compose.resolved.configs, `${COMPOSE_FILE} configs`);
    const init = Object.values(configs)
      .map((c) => (isRecord(c) && typeof c.content === 'string' ? c.content : ''))
      .join('\n');
    expect(init).toContain(`CREATE ROLE ${env.APICURIO_DATASOURCE_USERNAME} LOGIN PASSWORD '${env.APICURIO_DATASOURCE_PASSWORD}'`);
    expect(init).toContain(`CREATE DATABASE ${jdbc?.[2]} OWNER ${env.APICURIO_DATASOURCE_USERNAME}`);
    for (const name of SERVICES) {
      expect(String(configOf(name).config.RELAY_REGISTRY_URL)).toMatch(/^http:\/\/apicurio:8080\/apis\/ccompat\/v7\/?$/);
    }
  });

  it('states a condition for every depends_on, and waits for health only on services that have a healthcheck', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dep, condition] of Object.entries(dependsOn(service))) {
        const target = compose.services[dep];
        if (!target) problems.push(`${name} depends on ${dep}, which is not a service`);
        if (!condition || !DEPENDS_ON_CONDITIONS.has(condition))
          problems.push(`${name} → ${dep}: condition must be one of ${[...DEPENDS_ON_CONDITIONS].join(', ')}`);
        if (condition === 'service_healthy' && target && !isRecord(target.healthcheck))
          problems.push(`${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('writes no password into the file: each comes from ${VAR:-default} substitution', () => {
    const problems: string[] = [];
    const rawServices = recordAt(compose.raw.services, 'services');
    for (const [name, service] of Object.entries(rawServices)) {
      for (const [key, value] of Object.entries(environmentOf(recordAt(service, name), name))) {
        if (value === null) continue;
        if (/PASSWORD|SECRET|TOKEN|API_KEY/.test(key) && !value.includes('${')) problems.push(`${name}: ${key} is a literal`);
        // user:password@ in a URL, with each ${...} reference reduced to one token first.
        const credentials = /:\/\/[^/@:]+:([^@/]+)@/.exec(value.replace(/\$\{[^}]*\}/g, '$VAR'));
        if (credentials?.[1] && credentials[1] !== '$VAR') problems.push(`${name}: ${key} has a literal password in its URL`);
      }
    }
    for (const [name, config] of Object.entries(isRecord(compose.raw.configs) ? compose.raw.configs : {})) {
      const content = isRecord(config) && typeof config.content === 'string' ? config.content : '';
      for (const m of content.matchAll(/PASSWORD\s+'([^']*)'/gi)) {
        if (!m[1]?.startsWith('${')) problems.push(`configs.${name}: literal PASSWORD`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('mounts infra/prometheus/prometheus.yml into Prometheus', () => {
    const volumes = compose.services.prometheus?.volumes;
    const mounts = Array.isArray(volumes) ? volumes.map((v) => (typeof v === 'string' ? v : '')) : [];
    expect(mounts.some((m) => m.startsWith(`./${PROMETHEUS_FILE}:/etc/prometheus/prometheus.yml`))).toBe(true);
  });
});

describe(PROMETHEUS_FILE, () => {
  it('scrapes only hosts that are compose services', () => {
    const hosts = prometheusTargets().map((t) => t.split(':')[0] ?? '');
    expect(hosts.filter((h) => !compose.services[h])).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('builds the one Relay image: npm ci from the lockfile on Node 24, sources run through tools/register.js, as a non-root user', () => {
    expect(existsSync(path.join(root, 'Dockerfile'))).toBe(true);
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain('tools/register.js');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    // The build context is the runtime layout (see the .dockerignore check below).
    expect(dockerfile).toMatch(/^COPY \. \.\/?$/m);
    // Classic builder and registry-less engines: no frontend pulled from a registry, no BuildKit-only syntax.
    expect(dockerfile).not.toMatch(/^# *syntax=/m);
    expect(dockerfile).not.toMatch(/--mount=/);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users[users.length - 1]);
  });

  it('has a .dockerignore that lets in the runtime layout and keeps node_modules, tests and benches out', () => {
    const ignored = dockerignore({ ignorecase: false }).add(read('.dockerignore').split('\n'));
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    const runtime = (f: string) =>
      ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'tools/register.js'].includes(f) ||
      /^schemas\//.test(f) ||
      /^(libs|services)\/[^/]+\/(src|migrations)\/.+/.test(f);
    const test = (f: string) => /\.spec\.ts$|(^|\/)(e2e|bench)\//.test(f);
    const missing = files.filter((f) => runtime(f) && !test(f) && ignored.ignores(f));
    expect(missing).toEqual([]);
    const extra = files.filter((f) => (test(f) || !/^(libs|services|schemas)\//.test(f)) && !runtime(f) && !ignored.ignores(f));
    expect(extra).toEqual([]);
    expect(ignored.ignores('node_modules/x/index.js')).toBe(true);
    expect(ignored.ignores('libs/kafka/node_modules/x/index.js')).toBe(true);
  });
});
