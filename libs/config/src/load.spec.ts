import { ConfigError, describeConfig, loadConfig } from './load';
import {
  devStackConfigSchema,
  dispatcherConfigSchema,
  gatewayConfigSchema,
  historyConfigSchema,
  testStackConfigSchema,
  validatorConfigSchema,
} from './schemas';

describe('loadConfig', () => {
  it('applies defaults and parses lists', () => {
    const cfg = loadConfig('gateway', gatewayConfigSchema, { RELAY_KAFKA_BROKERS: 'a:1, b:2' });
    expect(cfg.RELAY_KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(cfg.RELAY_GATEWAY_PORT).toBe(3000);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it("gives history's main consumer fetches of what 100 ms brought, the other stages a fetch per record, each overridable", () => {
    const history = loadConfig('history', historyConfigSchema, {});
    expect([history.RELAY_FETCH_MIN_BYTES, history.RELAY_FETCH_MAX_WAIT_MS]).toEqual([1024 * 1024, 100]);
    const validator = loadConfig('validator', validatorConfigSchema, {});
    expect([validator.RELAY_FETCH_MIN_BYTES, validator.RELAY_FETCH_MAX_WAIT_MS]).toEqual([1, 500]);
    const tuned = loadConfig('history', historyConfigSchema, { RELAY_FETCH_MIN_BYTES: '1', RELAY_FETCH_MAX_WAIT_MS: '20' });
    expect([tuned.RELAY_FETCH_MIN_BYTES, tuned.RELAY_FETCH_MAX_WAIT_MS]).toEqual([1, 20]);
  });

  it('names every bad variable at once and never echoes values', () => {
    let error: unknown;
    try {
      loadConfig('gateway', gatewayConfigSchema, {
        RELAY_GATEWAY_PORT: 'seventy',
        RELAY_KAFKA_BROKERS: 'no-port-here',
        RELAY_PG_URL: 'not a url',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const ce = error as ConfigError;
    expect(ce.problems.map((p) => p.variable).sort()).toEqual(['RELAY_GATEWAY_PORT', 'RELAY_KAFKA_BROKERS', 'RELAY_PG_URL']);
    expect(ce.message).toContain('RELAY_GATEWAY_PORT');
    expect(ce.message).not.toContain('seventy');
  });

  it('treats empty variables as unset', () => {
    const cfg = loadConfig('history', historyConfigSchema, { CLICKHOUSE_URL: '' });
    expect(cfg.CLICKHOUSE_URL).toBeUndefined();
  });

  it('masks secrets and URL credentials', () => {
    expect(describeConfig({ CLICKHOUSE_PASSWORD: 'p', RELAY_DEV_API_KEY: 'k', RELAY_API_KEY_CACHE_MS: 5, RELAY_PG_URL: 'postgres://u:pw@h/db', A: 1 })).toEqual(
      { CLICKHOUSE_PASSWORD: '***', RELAY_DEV_API_KEY: '***', RELAY_API_KEY_CACHE_MS: 5, RELAY_PG_URL: 'postgres://***@h/db', A: 1 },
    );
  });

  it('takes 1 or 3 Kafka nodes for the local stacks, nothing else', () => {
    expect(loadConfig('npm start', devStackConfigSchema, {}).RELAY_KAFKA_NODES).toBe(1);
    expect(loadConfig('tests', testStackConfigSchema, { RELAY_KAFKA_NODES: '3' }).RELAY_KAFKA_NODES).toBe(3);
    expect(() => loadConfig('tests', testStackConfigSchema, { RELAY_KAFKA_NODES: '2' })).toThrow(/RELAY_KAFKA_NODES: must be 1 or 3/);
  });

  it('keeps a stage heartbeat within a third of its session timeout', () => {
    expect(loadConfig('validator', validatorConfigSchema, {})).toMatchObject({ RELAY_KAFKA_SESSION_TIMEOUT_MS: 6000, RELAY_KAFKA_HEARTBEAT_MS: 1000 });
    expect(() => loadConfig('validator', validatorConfigSchema, { RELAY_KAFKA_HEARTBEAT_MS: '2500' })).toThrow(
      /RELAY_KAFKA_HEARTBEAT_MS: must be at most a third of RELAY_KAFKA_SESSION_TIMEOUT_MS/,
    );
    expect(() => loadConfig('validator', validatorConfigSchema, { RELAY_KAFKA_SESSION_TIMEOUT_MS: '3000' })).toThrow(/RELAY_KAFKA_SESSION_TIMEOUT_MS/);
  });
});

describe('RELAY_WEBHOOK_ALLOWED_TARGETS', () => {
  const targets = (value: string) => loadConfig('dispatcher', dispatcherConfigSchema, { RELAY_WEBHOOK_ALLOWED_TARGETS: value }).RELAY_WEBHOOK_ALLOWED_TARGETS;
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig('gateway', gatewayConfigSchema, env);
      return null;
    } catch (error) {
      return (error as ConfigError).message;
    }
  };

  it('is empty by default and parses exact host:port entries into canonical hosts', () => {
    expect(loadConfig('gateway', gatewayConfigSchema, {}).RELAY_WEBHOOK_ALLOWED_TARGETS).toEqual([]);
    expect(targets(' 127.0.0.1:41234, [::1]:8080,[FD00::1]:80 ,LocalHost:9000,hooks.internal:443')).toEqual([
      { host: '127.0.0.1', port: 41234 },
      { host: '::1', port: 8080 },
      { host: 'fd00::1', port: 80 },
      { host: 'localhost', port: 9000 },
      { host: 'hooks.internal', port: 443 },
    ]);
  });

  it('refuses wildcards, ranges, missing ports and URLs, naming each bad entry', () => {
    for (const bad of [
      '127.0.0.1',
      '127.0.0.1:*',
      '*:8080',
      '10.0.0.0/8:80',
      '127.0.0.1:0',
      '127.0.0.1:70000',
      'http://127.0.0.1:80',
      '::1:80',
      '[zz]:80',
      'a_b:80',
      'localhost.:80',
    ]) {
      expect([bad, problem({ RELAY_WEBHOOK_ALLOWED_TARGETS: bad })]).toEqual([bad, expect.stringContaining('RELAY_WEBHOOK_ALLOWED_TARGETS')]);
    }
    expect(problem({ RELAY_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1:80,*:1,127.0.0.1' })).toMatch(/\*:1[\s\S]*"127\.0\.0\.1" is not host:port/);
  });

  it('takes addresses only in the canonical form URLs write them (other spellings are not the entry)', () => {
    for (const [bad, hint] of <[string, string][]>[
      ['127.1:80', '127.0.0.1'],
      ['2130706433:80', '127.0.0.1'],
      ['[0:0:0:0:0:0:0:1]:80', '[::1]'],
      ['[::ffff:127.0.0.1]:80', '[::ffff:7f00:1]'],
    ]) {
      expect([bad, problem({ RELAY_WEBHOOK_ALLOWED_TARGETS: bad })]).toEqual([bad, expect.stringContaining(`write the address as ${hint}`)]);
    }
  });

  it('fails on the removed RELAY_ALLOW_LOOPBACK_WEBHOOKS, pointing to the new setting', () => {
    expect(problem({ RELAY_ALLOW_LOOPBACK_WEBHOOKS: 'true' })).toMatch(/RELAY_ALLOW_LOOPBACK_WEBHOOKS: removed .*RELAY_WEBHOOK_ALLOWED_TARGETS/);
    expect(problem({ RELAY_ALLOW_LOOPBACK_WEBHOOKS: 'false' })).toMatch(/RELAY_ALLOW_LOOPBACK_WEBHOOKS: removed/);
    expect(problem({ RELAY_ALLOW_LOOPBACK_WEBHOOKS: '' })).toBeNull();
  });
});
