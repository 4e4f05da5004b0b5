import { parseConsumerPerformance, parseProducerPerformance } from './kafka-perf';
import { parsePrometheus, sumOf } from '@relay/testing';
import { memoryOf, percentiles, stageDelta, statusMiB } from './observe';

describe('Kafka perf tool output', () => {
  it('reads the final ProducerPerformance line, not the periodic ones', () => {
    const output = [
      '61201 records sent, 12235.8 records/sec (4.08 MB/sec), 1402.3 ms avg latency, 2210.0 ms max latency.',
      '200000 records sent, 24636.610 records/sec (8.22 MB/sec), 1911.64 ms avg latency, 3260.00 ms max latency, 2187 ms 50th, 2950 ms 95th, 3149 ms 99th, 3240 ms 99.9th.',
    ].join('\n');
    expect(parseProducerPerformance(output)).toEqual({
      records: 200000,
      recordsPerSec: 24636.61,
      mbPerSec: 8.22,
      avgLatencyMs: 1911.64,
      maxLatencyMs: 3260,
      p50Ms: 2187,
      p95Ms: 2950,
      p99Ms: 3149,
      p999Ms: 3240,
    });
  });

  it('fails with the tail of the output when there is no summary', () => {
    expect(() => parseProducerPerformance('Exception in thread "main" boom')).toThrow(/boom/);
  });

  it('reads ConsumerPerformance columns by name', () => {
    const output = [
      'WARNING: something unrelated',
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-01-01 10:00:00:000, 2026-01-01 10:00:07:073, 66.7572, 9.4383, 200000, 28276.5446, 1697, 5376, 12.4176, 37202.3810',
    ].join('\n');
    expect(parseConsumerPerformance(output)).toEqual({
      records: 200000,
      mb: 66.7572,
      recordsPerSec: 28276.5446,
      mbPerSec: 9.4383,
      rebalanceMs: 1697,
      fetchMs: 5376,
      fetchRecordsPerSec: 37202.381,
      fetchMbPerSec: 12.4176,
    });
  });
});

describe('Prometheus samples', () => {
  const text = [
    '# HELP relay_events_ingested_total Events received by the gateway',
    '# TYPE relay_events_ingested_total counter',
    'relay_events_ingested_total{dialect="shopimind",outcome="accepted",service="gateway"} 120',
    'relay_events_ingested_total{dialect="sendmator",outcome="accepted",service="gateway"} 5',
    'relay_events_ingested_total{dialect="shopimind",outcome="invalid",service="gateway"} 3',
    'relay_stage_batch_size_sum{stage="history",service="history"} 900',
    'relay_stage_batch_size_count{stage="history",service="history"} 3',
    'relay_stage_batch_duration_seconds_sum{stage="history",service="history"} 0.6',
    'relay_process_start_time_seconds 1767225600',
  ].join('\n');

  it('sums the samples whose labels match', () => {
    const samples = parsePrometheus(text);
    expect(sumOf(samples, 'relay_events_ingested_total', { outcome: 'accepted' })).toBe(125);
    expect(sumOf(samples, 'relay_events_ingested_total')).toBe(128);
    expect(sumOf(samples, 'relay_process_start_time_seconds')).toBe(1767225600);
    expect(sumOf(samples, 'missing')).toBe(0);
  });

  it('turns two scrapes into per-batch figures', () => {
    const before = parsePrometheus('relay_stage_batch_size_sum{stage="history"} 100\nrelay_stage_batch_size_count{stage="history"} 1');
    expect(stageDelta(before, parsePrometheus(text))).toEqual({ batches: 2, messages: 800, avgBatchSize: 400, avgBatchMs: 300 });
  });
});

describe('percentiles', () => {
  it('uses the nearest rank, so every figure is an observed value', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(values)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
  });
});

describe('resident memory from /proc/<pid>/status', () => {
  const status = ['Name:\tnode', 'VmPeak:\t 1203456 kB', 'VmHWM:\t  187392 kB', 'VmRSS:\t  151552 kB', 'Threads:\t11'].join('\n');

  it('reads the peak (VmHWM) and the current size (VmRSS) in MiB', () => {
    expect(statusMiB(status, 'VmHWM')).toBe(183);
    expect(statusMiB(status, 'VmRSS')).toBe(148);
  });

  it('is undefined for a field the kernel did not report (a kernel thread, a zombie)', () => {
    expect(statusMiB('Name:\tkthreadd\nState:\tS (sleeping)', 'VmHWM')).toBeUndefined();
  });

  it('reads this very process, whose peak is at least what it uses now', () => {
    const mine = memoryOf(new Map([['jest', process.pid]])).get('jest');
    expect(mine).toBeDefined();
    expect(mine!.peakMiB).toBeGreaterThanOrEqual(mine!.nowMiB);
    expect(mine!.nowMiB).toBeGreaterThan(10);
  });
});
