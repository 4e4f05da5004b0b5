import { ConfigError, describeConfig, loadConfig } from './load';
import { gatewayConfigSchema, historyConfigSchema } from './schemas';

describe('loadConfig', () => {
  it('applies defaults and parses lists', () => {
    const cfg = loadConfig('gateway', gatewayConfigSchema, { RELAY_KAFKA_BROKERS: 'a:1, b:2' });
    expect(cfg.RELAY_KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(cfg.RELAY_GATEWAY_PORT).toBe(3000);
    expect(Object.isFrozen(cfg)).toBe(true);
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
    expect(ce.problems.map((p) => p.variable).sort()).toEqual([
      'RELAY_GATEWAY_PORT',
      'RELAY_KAFKA_BROKERS',
      'RELAY_PG_URL',
    ]);
    expect(ce.message).toContain('RELAY_GATEWAY_PORT');
    expect(ce.message).not.toContain('seventy');
  });

  it('treats empty variables as unset', () => {
    const cfg = loadConfig('history', historyConfigSchema, { CLICKHOUSE_URL: '' });
    expect(cfg.CLICKHOUSE_URL).toBeUndefined();
  });

  it('masks secrets and URL credentials', () => {
    expect(
      describeConfig({ CLICKHOUSE_PASSWORD: 'p', RELAY_DEV_API_KEY: 'k', RELAY_API_KEY_CACHE_MS: 5, RELAY_PG_URL: 'postgres://u:pw@h/db', A: 1 }),
    ).toEqual({ CLICKHOUSE_PASSWORD: '***', RELAY_DEV_API_KEY: '***', RELAY_API_KEY_CACHE_MS: 5, RELAY_PG_URL: 'postgres://***@h/db', A: 1 });
  });
});
