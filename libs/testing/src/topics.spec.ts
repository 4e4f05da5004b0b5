import { freshTopicName, uniqueGroupId } from './topics';

describe('test naming helpers', () => {
  it('makes unique, Kafka-legal topic names with the prefix', () => {
    const names = new Set(Array.from({ length: 500 }, () => freshTopicName('orders v1/€')));
    expect(names.size).toBe(500);
    for (const name of names) {
      expect(name).toMatch(/^orders-v1---[a-z0-9]+-[0-9a-f]{8}$/);
      expect(name.length).toBeLessThanOrEqual(249);
    }
  });

  it('makes unique group ids', () => {
    const ids = new Set(Array.from({ length: 500 }, () => uniqueGroupId('validator')));
    expect(ids.size).toBe(500);
    for (const id of ids) expect(id.startsWith(`validator-${process.pid}-`)).toBe(true);
  });
});
