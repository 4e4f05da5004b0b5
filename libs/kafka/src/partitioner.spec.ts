import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { JavaCompatiblePartitioner, murmur2 } from './partitioner';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

const metadata = (n: number, leaderless: number[] = []): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: leaderless.includes(i) ? -1 : 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

describe('murmur2', () => {
  it("is kafkajs's (the Java client's) hash for every length class and random bytes", () => {
    for (let length = 0; length <= 64; length++) {
      for (let trial = 0; trial < 50; trial++) {
        const data = randomBytes(length);
        expect(murmur2(data)).toBe(kafkajsMurmur2(data));
      }
    }
  });

  it("gives the Java client's own test vectors (Kafka's UtilsTest.testMurmur2)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key))).toBe(hash);
  });
});

describe('JavaCompatiblePartitioner', () => {
  it("puts every keyed message on kafkajs's DefaultPartitioner's partition", () => {
    const ours = JavaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 6, 12]) {
      const partitionMetadata = metadata(n, [0]);
      for (let i = 0; i < 500; i++) {
        const key = i % 2 === 0 ? `team-${randomBytes(6).toString('hex')}:contact-${i}` : randomBytes(i % 40);
        const message = { key, value: 'v' };
        expect(ours({ topic: 't', partitionMetadata, message })).toBe(theirs({ topic: 't', partitionMetadata, message }));
      }
    }
  });

  it('keeps an explicit partition, and spreads keyless messages over the partitions that have a leader', () => {
    const partition = JavaCompatiblePartitioner();
    const partitionMetadata = metadata(6, [2, 4]);
    expect(partition({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 4 } })).toBe(4);
    const seen = Array.from({ length: 40 }, () => partition({ topic: 't', partitionMetadata, message: { value: 'v' } }));
    expect(new Set(seen)).toEqual(new Set([0, 1, 3, 5]));
  });
});
