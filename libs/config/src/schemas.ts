import { z } from 'zod';
import { parseWebhookTarget, type WebhookTarget } from './webhook-targets';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0, 'must list at least one host:port')
  .refine((list) => list.every((b) => /^[^:\s]+:\d+$/.test(b)), 'each entry must be host:port');
const url = z.string().url('must be a URL');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Shared by every service. */
export const commonVars = {
  /** `production` turns dev-only fallbacks (the built-in webhook secret key) into errors. */
  NODE_ENV: z.string().default('development'),
  RELAY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Prefix of every topic name, so several stacks (or test runs) can share a broker. */
  RELAY_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, dot, underscore and dash only')
    .default('relay'),
};

export const kafkaVars = {
  RELAY_KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  RELAY_KAFKA_CLIENT_ID: z.string().min(1).optional(),
};

export const registryVars = {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  RELAY_REGISTRY_URL: url.default('http://127.0.0.1:8081/apis/ccompat/v7'),
  /**
   * How long a schema id the registry answers 404 for is looked up again (a registry that
   * restarts or lags) before records carrying it are dead-lettered as SCHEMA_NOT_FOUND.
   * Kept well under the consumer session timeout (30 s): decoding waits meanwhile.
   */
  RELAY_SCHEMA_NOT_FOUND_RETRY_MS: z.coerce.number().int().min(0).max(20000).default(10000),
};

export const postgresVars = {
  RELAY_PG_URL: url.default('postgres://postgres@127.0.0.1:5432/relay'),
  RELAY_PG_POOL_MAX: positiveInt(10),
};

export const clickhouseVars = {
  /** When set, history uses this ClickHouse server instead of the embedded chDB engine. */
  CLICKHOUSE_URL: url.optional(),
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
    .default('relay'),
  /** Data directory of the embedded engine (ignored with CLICKHOUSE_URL). */
  RELAY_CHDB_PATH: z.string().min(1).default('.relay/chdb'),
  RELAY_HISTORY_RETENTION_DAYS: positiveInt(365),
};

/** Where webhooks may go besides public addresses: the gateway (endpoint creation), the dispatcher (sending) and npm start. */
const webhookTargetVars = {
  /**
   * Receivers on private, loopback or link-local addresses that webhooks may reach anyway,
   * as exact `host:port` entries, comma-separated (e.g. `127.0.0.1:8080,[::1]:8080,hooks.internal:443`).
   * Every other such address stays refused, at endpoint creation and at send time.
   */
  RELAY_WEBHOOK_ALLOWED_TARGETS: z
    .string()
    .transform((value, ctx): WebhookTarget[] => {
      const targets: WebhookTarget[] = [];
      for (const entry of value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        try {
          targets.push(parseWebhookTarget(entry));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }
      return targets;
    })
    .default([]),
  /** Removed: it let every loopback address through. Set, it fails validation with the way out. */
  RELAY_ALLOW_LOOPBACK_WEBHOOKS: z.undefined({
    error:
      'removed (it allowed every loopback address): list the exact receivers as host:port in RELAY_WEBHOOK_ALLOWED_TARGETS instead, e.g. RELAY_WEBHOOK_ALLOWED_TARGETS=127.0.0.1:8080',
  }),
};

/** Outbound webhooks: shared by the gateway (endpoints API) and the dispatcher (sending). */
export const webhookVars = {
  /**
   * AES-256-GCM key (32 bytes, base64 or hex) that encrypts endpoint signing secrets at
   * rest. Unset: a fixed DEV-ONLY key is used with a warning at boot (see docs/webhooks.md).
   */
  RELAY_WEBHOOK_SECRET_KEY: z
    .string()
    .refine((v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, hex (64 chars) or base64')
    .optional(),
  ...webhookTargetVars,
};

/**
 * The service credential of the history service's internal API: the gateway (and the
 * tools that query history) send it as `Authorization: Bearer <token>`, history compares it
 * in constant time. Unset: a DEV-ONLY token with a warning; refused with NODE_ENV=production.
 */
export const historyTokenVars = {
  RELAY_HISTORY_TOKEN: z.string().min(16, 'at least 16 characters').max(256).optional(),
};

/** A consumer's fetch settings, with the defaults of one service. */
function fetchVars(minBytes: number, maxWaitMs: number) {
  return {
    RELAY_FETCH_MIN_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(10 * 1024 * 1024)
      .default(minBytes),
    RELAY_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(1).max(10000).default(maxWaitMs),
  };
}

const consumerVars = {
  /** Max messages handled per batch by a consumer stage. */
  RELAY_BATCH_MAX: positiveInt(500),
  /**
   * Partitions a consumer instance works on at once (bounds work in flight). kafkajs fetches
   * again only once every batch of a fetch is handled, so with fewer than the topics'
   * partitions (6) a fetch's batches are handled in rounds and each hop waits for all of them.
   */
  RELAY_PARTITIONS_CONCURRENCY: positiveInt(6),
  /**
   * Consumer group session: how long the partitions of a stage that died without leaving
   * (SIGKILL, OOM, a frozen host) wait before its restart or another instance gets them.
   * 6 s is the broker's default minimum (group.min.session.timeout.ms).
   */
  RELAY_KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300000).default(6000),
  /** Heartbeat period of a stage's consumer: at most a third of the session timeout. */
  RELAY_KAFKA_HEARTBEAT_MS: z.coerce.number().int().min(100).max(100000).default(1000),
  /**
   * Tries of a throwing stage handler before a record that fails while its neighbours
   * succeed is dead-lettered as poison (HANDLER_FAILED); when every record fails (a store is
   * down) nothing is dead-lettered and the chunk is retried uncommitted.
   */
  RELAY_HANDLER_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  /**
   * A stage's fetch: the broker answers once this many bytes are there or
   * RELAY_FETCH_MAX_WAIT_MS has passed. The defaults (1 B / 500 ms) answer as soon as a
   * record arrives and cost two fetches a second per idle consumer; batches then grow with
   * the time a stage spends on the previous one (docs/benchmarks.md).
   */
  ...fetchVars(1, 500),
  /** Offsets whose output is durable are committed together at most this often (0: after every chunk). */
  RELAY_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).max(5000).default(250),
};

/** Kafka's own rule: a member must get several heartbeats in before its session expires. */
function heartbeatWithinSession(config: { RELAY_KAFKA_SESSION_TIMEOUT_MS: number; RELAY_KAFKA_HEARTBEAT_MS: number }, ctx: z.RefinementCtx): void {
  if (config.RELAY_KAFKA_HEARTBEAT_MS * 3 > config.RELAY_KAFKA_SESSION_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['RELAY_KAFKA_HEARTBEAT_MS'], message: 'must be at most a third of RELAY_KAFKA_SESSION_TIMEOUT_MS' });
  }
}

export const gatewayConfigSchema = z.object({
  ...commonVars,
  ...kafkaVars,
  ...registryVars,
  ...postgresVars,
  RELAY_GATEWAY_PORT: port(3000),
  RELAY_GATEWAY_HOST: z.string().default('0.0.0.0'),
  /** /metrics is served here, not on the public port (which answers 404 for it). */
  RELAY_GATEWAY_METRICS_PORT: port(3006),
  /** Loopback by default; an internal interface (or 0.0.0.0 inside a container network) for a remote Prometheus. */
  RELAY_GATEWAY_METRICS_HOST: z.string().default('127.0.0.1'),
  /** Where the history service's query API listens (the gateway forwards to it). */
  RELAY_HISTORY_URL: url.default('http://127.0.0.1:3004'),
  ...historyTokenVars,
  RELAY_MAX_BODY_BYTES: positiveInt(256 * 1024),
  /**
   * Producer linger: how long an idle gateway producer waits to group concurrent requests into
   * one produce call. Requests arriving while a produce is in flight are grouped anyway (sent
   * when it is answered), so 0 costs no batching under load and no wait at idle.
   */
  RELAY_PRODUCE_LINGER_MS: z.coerce.number().int().min(0).max(100).default(0),
  /** A request whose record Kafka has not acknowledged within this gets 503 DEPENDENCY_UNAVAILABLE. */
  RELAY_PRODUCE_TIMEOUT_MS: positiveInt(10000),
  /** Records waiting for Kafka at most (queued or unacknowledged); beyond it requests get 503 at once. */
  RELAY_PRODUCE_QUEUE_MAX: positiveInt(10000),
  /** Time a client has to send a whole request (headers and body); slower uploads get 408. */
  RELAY_REQUEST_TIMEOUT_MS: positiveInt(30000),
  RELAY_API_KEY_CACHE_MS: positiveInt(5000),
  /** Follow LISTEN relay_api_keys to drop revoked keys at once (the cache TTL stays the bound without it). */
  RELAY_API_KEY_CHANGE_FEED: bool.default(true),
  /** Rate-limit points a gateway reserves from PostgreSQL at once (≤ a tenth of the limit); 1 = one round trip per request. */
  RELAY_RATE_LIMIT_BLOCK_MAX: z.coerce.number().int().min(1).max(1000).default(50),
  /** Bearer token of the /admin/v1 routes; unset: the admin routes answer 404. */
  RELAY_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').max(256).optional(),
  ...webhookVars,
});

export const validatorConfigSchema = z
  .object({
    ...commonVars,
    ...kafkaVars,
    ...registryVars,
    ...postgresVars,
    ...consumerVars,
    RELAY_VALIDATOR_PORT: port(3001),
  })
  .superRefine(heartbeatWithinSession);

export const matcherConfigSchema = z
  .object({
    ...commonVars,
    ...kafkaVars,
    ...registryVars,
    ...postgresVars,
    ...consumerVars,
    RELAY_MATCHER_PORT: port(3002),
    /** Idle time after which a team's cached scenarios are dropped (memory only: changes apply at once). */
    RELAY_SCENARIO_CACHE_MS: positiveInt(30000),
    /** Full reload of the subscription directory used for fan-out (changes apply at once regardless). */
    RELAY_WEBHOOK_ENDPOINT_CACHE_MS: positiveInt(2000),
    /** Same bound for cached contacts, and how many contacts a matcher keeps in memory. */
    RELAY_CONTACT_CACHE_MS: positiveInt(60000),
    RELAY_CONTACT_CACHE_MAX: positiveInt(200000),
    /** Multiplies every scenario action delay; 1 in production, e.g. 0.00001 in tests so P2D takes ~2 s. */
    RELAY_DELAY_SCALE: z.coerce.number().positive().max(1).default(1),
    /** How often the scheduler looks for due actions (due actions are released within this + produce time). */
    RELAY_SCHEDULER_POLL_MS: positiveInt(200),
    RELAY_SCHEDULER_BATCH: positiveInt(500),
  })
  .superRefine(heartbeatWithinSession);

export const dispatcherConfigSchema = z
  .object({
    ...commonVars,
    ...kafkaVars,
    ...registryVars,
    ...postgresVars,
    ...consumerVars,
    ...webhookVars,
    RELAY_DISPATCHER_PORT: port(3003),
    /** Delays before each retry after a failed attempt (ms, s, m, h units); its length + 1 is the number of attempts. */
    RELAY_WEBHOOK_RETRY_SCHEDULE: z
      .string()
      .regex(/^\s*\d+(ms|s|m|h)(\s*,\s*\d+(ms|s|m|h))*\s*$/, 'comma-separated durations, e.g. 5s,5m,30m,2h')
      .default('5s,5m,30m,2h,5h,10h,10h'),
    /** Full reload of the endpoint directory (changes themselves are seen at once, see EndpointDirectory). */
    RELAY_WEBHOOK_ENDPOINT_CACHE_MS: positiveInt(2000),
    /** How often due retries are claimed from PostgreSQL. */
    RELAY_WEBHOOK_POLL_MS: positiveInt(250),
    /** An endpoint with no success for this long (while failing) is auto-disabled. */
    RELAY_WEBHOOK_AUTO_DISABLE_MS: positiveInt(5 * 24 * 3600 * 1000),
    /** Deliveries held in memory per endpoint; the rest wait in PostgreSQL (bounds memory). */
    RELAY_WEBHOOK_QUEUE_MAX: positiveInt(1000),
    /**
     * Lease on deliveries a dispatcher holds (renewed every third of it): how long a crashed
     * instance's deliveries wait before another instance (or its restart) sends them. Shorter
     * = faster recovery but more renewal writes and less slack for a stalled process.
     */
    RELAY_WEBHOOK_LEASE_MS: z.coerce.number().int().min(3000).default(60000),
    /**
     * How long a finished delivery's id is remembered so a duplicate delivery record arriving
     * later (producer retry, topic replay, offsets reset) is not sent again. Default: the
     * retention of the deliveries topic (7 days), beyond which no duplicate can arrive.
     */
    RELAY_WEBHOOK_DEDUPE_WINDOW_MS: positiveInt(7 * 24 * 3600 * 1000),
  })
  .superRefine(heartbeatWithinSession);

export const historyConfigSchema = z
  .object({
    ...commonVars,
    ...kafkaVars,
    ...registryVars,
    ...clickhouseVars,
    ...consumerVars,
    RELAY_HISTORY_PORT: port(3004),
    RELAY_HISTORY_HOST: z.string().default('127.0.0.1'),
    RELAY_HISTORY_FLUSH_MS: positiveInt(200),
    /**
     * History's main consumer takes what 100 ms brought (up to 1 MiB) per fetch: its rows wait
     * for the next insert (RELAY_HISTORY_FLUSH_MS) anyway, and since it fetches on while they
     * wait, answering each record at once handed it chunks of a dozen rows, each paying a
     * fetch, a decode pass and its bookkeeping (history's CPU per HTTP event doubled;
     * docs/benchmarks.md).
     */
    ...fetchVars(1024 * 1024, 100),
    ...historyTokenVars,
    /** How long a validated event waits for the matcher's outcome before history writes it as `validated`. */
    RELAY_HISTORY_OUTCOME_WAIT_MS: positiveInt(1500),
  })
  .superRefine(heartbeatWithinSession);

export const serviceConfigSchemas = {
  gateway: gatewayConfigSchema,
  validator: validatorConfigSchema,
  matcher: matcherConfigSchema,
  dispatcher: dispatcherConfigSchema,
  history: historyConfigSchema,
} as const;

export type ServiceName = keyof typeof serviceConfigSchemas;
export type CommonConfig = z.infer<z.ZodObject<typeof commonVars>>;
/** What every service's Kafka and registry wiring reads. */
export type WireConfig = z.infer<z.ZodObject<typeof commonVars & typeof kafkaVars & typeof registryVars>>;
/** What a consumer stage (validator, matcher, dispatcher, history) reads besides its wiring. */
export type StageConfig = WireConfig & z.infer<z.ZodObject<typeof consumerVars>>;
export type PostgresConfig = z.infer<z.ZodObject<typeof postgresVars>>;
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type ValidatorConfig = z.infer<typeof validatorConfigSchema>;
export type MatcherConfig = z.infer<typeof matcherConfigSchema>;
export type DispatcherConfig = z.infer<typeof dispatcherConfigSchema>;
export type HistoryConfig = z.infer<typeof historyConfigSchema>;

/**
 * Kafka topology of the stacks this repository starts itself (npm start, the Jest harness,
 * the chaos run): 1 KRaft node (replication factor 1), or 3 (replication factor 3 and
 * min.insync.replicas 2: an acknowledged record survives the loss of any one broker).
 * Not RELAY_KAFKA_BROKERS, which is the services' bootstrap list (host:port,...).
 */
export const localKafkaVars = {
  RELAY_KAFKA_NODES: z
    .enum(['1', '3'], { message: 'must be 1 or 3' })
    .default('1')
    .transform((v) => (v === '3' ? 3 : 1)),
  /**
   * The brokers' JIT: `c1` (default) compiles with the client compiler only, `tiered` is the
   * JVM's default (C1 then C2). A broker started for a run spends minutes in C2 compiling
   * (0.18 of 2 cores at 330 events/s, more than it spends on requests) for request handling
   * about 10 % cheaper once compiled (docs/benchmarks.md); `tiered` is what a long-lived
   * production broker should run.
   */
  RELAY_KAFKA_JIT: z.enum(['c1', 'tiered'], { message: 'must be c1 or tiered' }).default('c1'),
};

/** The Jest integration harness (libs/testing global setup). */
export const testStackConfigSchema = z.object({
  ...localKafkaVars,
});
export type TestStackConfig = z.infer<typeof testStackConfigSchema>;

/** `npm start`: the local stack and the dev team/key it provisions. */
export const devStackConfigSchema = z.object({
  ...commonVars,
  ...localKafkaVars,
  ...postgresVars,
  RELAY_GATEWAY_PORT: port(3000),
  /** The gateway's /metrics (loopback), scraped by the local Prometheus. */
  RELAY_GATEWAY_METRICS_PORT: port(3006),
  RELAY_VALIDATOR_PORT: port(3001),
  RELAY_MATCHER_PORT: port(3002),
  RELAY_DISPATCHER_PORT: port(3003),
  RELAY_HISTORY_PORT: port(3004),
  RELAY_KAFKA_PORT: port(9092),
  RELAY_KAFKA_CONTROLLER_PORT: port(9093),
  RELAY_REGISTRY_PORT: port(8081),
  RELAY_PROMETHEUS_PORT: port(9090),
  /** /metrics of the supervisor that restarts crashed services (relay_supervisor_restarts_total). */
  RELAY_SUPERVISOR_PORT: port(3005),
  /** Where Kafka data, the embedded ClickHouse, logs and the dev key live (gitignored). */
  RELAY_STATE_DIR: z.string().min(1).default('.relay'),
  /** Downloads (Kafka and Apicurio from Maven Central); outside the repository by default. */
  RELAY_CACHE_DIR: z.string().min(1).optional(),
  RELAY_DEV_TEAM_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (1–64)')
    .default('dev-team'),
  /** Fixed dev API key; generated once and kept in the state directory when unset. */
  RELAY_DEV_API_KEY: z.string().min(16, 'at least 16 characters').max(256).optional(),
  /** Admin token for /admin/v1 and `npm run relay`; generated once and kept in the state directory when unset. */
  RELAY_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').max(256).optional(),
  /** Service credential between the gateway and history; generated once and kept in the state directory when unset. */
  ...historyTokenVars,
  CLICKHOUSE_URL: url.optional(),
  /** Passed to the services: local receivers the demo's webhooks may reach (none by default). */
  ...webhookTargetVars,
});
export type DevStackConfig = z.infer<typeof devStackConfigSchema>;

/** `npm run relay`: the admin CLI talks to a gateway's /admin/v1 API. */
export const adminCliConfigSchema = z.object({
  RELAY_ADMIN_URL: url.default('http://127.0.0.1:3000'),
  /** Falls back to `<RELAY_STATE_DIR>/admin-token`, written by `npm start`. */
  RELAY_ADMIN_TOKEN: z.string().min(1).optional(),
  RELAY_STATE_DIR: z.string().min(1).default('.relay'),
});
export type AdminCliConfig = z.infer<typeof adminCliConfigSchema>;
