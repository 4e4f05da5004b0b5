import { newClusterId, renderLog4j2Properties, renderServerProperties } from './kafka';

function parse(properties: string): Record<string, string> {
  return Object.fromEntries(
    properties
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );
}

describe('Kafka configuration', () => {
  it('renders a single-node KRaft broker+controller for local use', () => {
    const props = parse(renderServerProperties({ host: '127.0.0.1', port: 9092, controllerPort: 9093, logDirs: '/data/kraft' }));
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:9093',
      listeners: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9092',
      'controller.listener.names': 'CONTROLLER',
      'log.dirs': '/data/kraft',
      'auto.create.topics.enable': 'false',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
    });
  });

  it('renders one node of a 3-node cluster: three voters, replication 3 and min ISR 2 everywhere', () => {
    const props = parse(
      renderServerProperties({ host: '127.0.0.1', port: 9192, controllerPort: 9193, logDirs: '/d', nodeId: 2, controllerPorts: [9093, 9193, 9293] }),
    );
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '2',
      'controller.quorum.voters': '1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9192',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
    });
  });

  it('lets callers override settings', () => {
    const props = parse(
      renderServerProperties({ host: 'h', port: 1, controllerPort: 2, logDirs: 'd', overrides: { 'num.partitions': 6, 'auto.create.topics.enable': true } }),
    );
    expect(props['num.partitions']).toBe('6');
    expect(props['auto.create.topics.enable']).toBe('true');
  });

  it('escapes backslashes, which are escapes in .properties files', () => {
    expect(parse(renderServerProperties({ host: 'h', port: 1, controllerPort: 2, logDirs: 'C:\\kafka\\data' }))['log.dirs']).toBe('C:\\\\kafka\\\\data');
  });

  it('logs to a file only', () => {
    const log4j = parse(renderLog4j2Properties('/logs', 'WARN'));
    expect(log4j['appender.file.fileName']).toBe('/logs/server.log');
    expect(log4j['rootLogger.level']).toBe('WARN');
    expect(Object.values(log4j)).not.toContain('Console');
  });

  it('makes cluster ids like `kafka-storage random-uuid`', () => {
    const ids = new Set(Array.from({ length: 200 }, newClusterId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
