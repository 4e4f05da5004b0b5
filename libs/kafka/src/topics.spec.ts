import { replicationFor } from './topics';

describe('replicationFor', () => {
  it('gives 3 replicas and min ISR 2 from three brokers on, else one replica per broker and min ISR 1', () => {
    expect([1, 2, 3, 5].map(replicationFor)).toEqual([
      { factor: 1, minInsyncReplicas: 1 },
      { factor: 2, minInsyncReplicas: 1 },
      { factor: 3, minInsyncReplicas: 2 },
      { factor: 3, minInsyncReplicas: 2 },
    ]);
  });
});
