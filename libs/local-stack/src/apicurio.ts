import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureApicurio, type ArtifactOptions } from './artifacts';
import { requireJava } from './java';
import { jvmMarker, spawnManaged } from './managed-process';
import { defaultCacheDir, defaultLogger, defaultStateDir, type Logger } from './paths';
import { getFreePorts } from './ports';
import { ensureDatabase, type PostgresDatabase } from './postgres';
import { waitForReady } from './wait';

export interface ApicurioCcompatOptions {
  /**
   * `apicurio.ccompat.legacy-id-mode.enabled`. false (our default, and Apicurio's): the id
   * that the Confluent-compatible API returns, and that serializers put in bytes 1-4 of a
   * message, is the *contentId* (same content => same id in every subject, like Confluent's
   * schema id). true: the per-version *globalId* instead (Apicurio issue #1874).
   */
  legacyIdMode?: boolean;
  /**
   * `apicurio.ccompat.use-canonical-hash`. true (our default; Apicurio's is false): register
   * and lookup (POST /subjects/{s}) compare schemas in canonical form, so a client that
   * re-serializes a schema (other whitespace or key order) finds the registered one instead
   * of 40403 / a new version (Apicurio issues #4831, #2636).
   */
  canonicalHash?: boolean;
}

export interface StartApicurioOptions extends ArtifactOptions {
  /** HTTP port. Default: a free one. */
  port?: number;
  /** Quarkus management interface port (health/metrics; 3.1+ enables it). Default: a free one. */
  managementPort?: number;
  host?: string;
  /** Working dir of the JVM (tmp files, Vert.x cache). The schemas live in PostgreSQL. */
  dataDir: string;
  /** apicurio.log (stdout/stderr). Default <dataDir>/logs. */
  logDir?: string;
  /** SQL storage; the database is created if missing. Survives restarts. */
  postgres: PostgresDatabase;
  /** -Xmx. Default 512. */
  heapMb?: number;
  version?: string;
  stateDir?: string;
  javaBin?: string;
  ccompat?: ApicurioCcompatOptions;
  /** Extra or overriding -D properties. */
  systemProperties?: Record<string, string>;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  log?: Logger;
}

export interface ApicurioHandle {
  /** e.g. http://127.0.0.1:41235 */
  url: string;
  /** Confluent-compatible API: `${url}/apis/ccompat/v7` (use as SchemaRegistry host). */
  ccompatUrl: string;
  /** Apicurio's own v3 API: `${url}/apis/registry/v3`. */
  coreUrl: string;
  port: number;
  version: string;
  database: string;
  logDir: string;
  pid: number;
  /** Graceful stop (SIGTERM), SIGKILL after stopTimeoutMs. Idempotent. */
  stop(): Promise<void>;
}

export interface ApicurioConfigInput {
  host: string;
  port: number;
  managementPort: number;
  dataDir: string;
  postgres: PostgresDatabase;
  ccompat?: ApicurioCcompatOptions;
}

/**
 * The -D system properties Apicurio Registry 3.x is started with (names from the
 * application.properties inside the app jar; the same names work as env vars, e.g.
 * APICURIO_STORAGE_SQL_KIND). The password is not here: it goes in the environment so it
 * does not show in `ps`.
 */
export function apicurioSystemProperties(input: ApicurioConfigInput): Record<string, string> {
  const pg = input.postgres;
  return {
    'quarkus.http.host': input.host,
    'quarkus.http.port': String(input.port),
    'quarkus.management.host': input.host,
    'quarkus.management.port': String(input.managementPort),
    // SQL storage on PostgreSQL: schemas survive a restart (the default is in-memory H2).
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'postgresql',
    'apicurio.datasource.url': `jdbc:postgresql://${pg.host}:${pg.port}/${pg.database}`,
    'apicurio.datasource.username': pg.user,
    // The defaults (20 initial, 20 min, 100 max) would take most of a default PostgreSQL's
    // 100 connections; a local registry needs a handful.
    'apicurio.datasource.jdbc.initial-size': '2',
    'apicurio.datasource.jdbc.min-size': '2',
    'apicurio.datasource.jdbc.max-size': '10',
    // Set explicitly rather than relying on defaults that have changed between releases.
    'apicurio.ccompat.legacy-id-mode.enabled': String(input.ccompat?.legacyIdMode ?? false),
    'apicurio.ccompat.use-canonical-hash': String(input.ccompat?.canonicalHash ?? true),
    // Tests delete subjects (DELETE /subjects/{s}); 3.0.x and 3.1+ spell the switch differently.
    'apicurio.rest.artifact.deletion.enabled': 'true',
    'apicurio.rest.deletion.artifact.enabled': 'true',
    'apicurio.rest.deletion.artifact-version.enabled': 'true',
    'apicurio.rest.deletion.group.enabled': 'true',
    // One log line per HTTP request is noise for a local registry.
    'quarkus.http.access-log.enabled': 'false',
    'apicurio.storage.snapshot.location': path.join(input.dataDir, 'snapshots'),
    'apicurio.import.work-dir': path.join(input.dataDir, 'import'),
    'java.io.tmpdir': path.join(input.dataDir, 'tmp'),
    'vertx.cacheDirBase': path.join(input.dataDir, 'vertx-cache'),
  };
}

async function probeApicurio(ccompatUrl: string): Promise<boolean> {
  const res = await fetch(`${ccompatUrl}/subjects`, { signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  return res.status === 200;
}

/**
 * Starts Apicurio Registry (all-in-one Quarkus app) with SQL storage on PostgreSQL, creating
 * the database if needed, and resolves once the Confluent-compatible API answers.
 */
export async function startApicurio(options: StartApicurioOptions): Promise<ApicurioHandle> {
  const log = options.log ?? defaultLogger;
  const host = options.host ?? '127.0.0.1';
  const javaBin = options.javaBin ?? 'java';
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const stateDir = options.stateDir ?? defaultStateDir(cacheDir);
  const dataDir = path.resolve(options.dataDir);
  const logDir = path.resolve(options.logDir ?? path.join(dataDir, 'logs'));
  for (const dir of [dataDir, logDir, path.join(dataDir, 'tmp'), path.join(dataDir, 'snapshots'), path.join(dataDir, 'import')]) {
    mkdirSync(dir, { recursive: true });
  }

  // Cheap checks first, so a missing PostgreSQL is reported before a 160 MB download.
  await requireJava(17, 'Apicurio Registry 3.x', javaBin);
  const created = await ensureDatabase(options.postgres);
  if (created) log(`created PostgreSQL database ${options.postgres.database} for Apicurio Registry`);
  const artifact = await ensureApicurio({ ...options, cacheDir, log });

  const [freeA, freeB] = (await getFreePorts(2, host)) as [number, number];
  const port = options.port ?? freeA;
  const managementPort = options.managementPort ?? (freeA === port ? freeB : freeA);
  const props = {
    ...apicurioSystemProperties({ host, port, managementPort, dataDir, postgres: options.postgres, ...(options.ccompat ? { ccompat: options.ccompat } : {}) }),
    ...options.systemProperties,
  };
  const heapMb = options.heapMb ?? 512;

  const started = Date.now();
  const { marker, arg } = jvmMarker('apicurio');
  const proc = await spawnManaged({
    name: 'apicurio',
    command: javaBin,
    args: [
      arg,
      `-Xmx${heapMb}m`,
      '-Xms64m',
      // A small, mostly idle service on a 2-core machine: the serial collector needs no GC
      // threads, and the C1-only JIT shortens startup (where most of its CPU time goes).
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-XX:+ExitOnOutOfMemoryError',
      ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
      '-jar',
      artifact.runJar,
    ],
    marker,
    cwd: dataDir,
    ...(options.postgres.password !== undefined ? { env: { APICURIO_DATASOURCE_PASSWORD: options.postgres.password } } : {}),
    logFile: path.join(logDir, 'apicurio.log'),
    stateDir,
    stopTimeoutMs: options.stopTimeoutMs ?? 20000,
    log,
  });

  const url = `http://${host}:${port}`;
  const ccompatUrl = `${url}/apis/ccompat/v7`;
  try {
    await waitForReady(() => probeApicurio(ccompatUrl), {
      what: `Apicurio Registry ${artifact.version} on ${url}`,
      timeoutMs: options.readyTimeoutMs ?? 180000,
      intervalMs: 300,
      process: proc,
      hints: [
        {
          whenLogContains: 'UnsupportedClassVersionError',
          hint: `this Apicurio Registry build needs a newer Java than ${javaBin} (class file 65 = Java 21); on Java 17 use version 3.0.9`,
        },
        { whenLogContains: 'Address already in use', hint: `port ${port} or ${managementPort} is taken; pass other ports` },
      ],
    });
  } catch (error) {
    await proc.stop(5000);
    throw error;
  }
  log(
    `Apicurio Registry ${artifact.version} ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${proc.pid}, database ${options.postgres.database})`,
  );

  return {
    url,
    ccompatUrl,
    coreUrl: `${url}/apis/registry/v3`,
    port,
    version: artifact.version,
    database: options.postgres.database,
    logDir,
    pid: proc.pid,
    stop: () => proc.stop(),
  };
}
