/**
 * infra/prometheus and infra/grafana stay true to the code: every metric an alert or a
 * dashboard panel queries must exist in RelayMetrics. promtool's own checks of the same
 * files (syntax, the alert rules' unit tests, the config `npm start` generates) need the
 * promtool binary, so they are integration specs: tools/promtool.int.spec.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RelayMetrics } from '@relay/observability';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..');
const prom = (f: string): string => path.join(root, 'infra', 'prometheus', f);

/** Metric families RelayMetrics registers (histograms add _bucket/_sum/_count). */
function knownMetrics(): Set<string> {
  const metrics = new RelayMetrics('spec');
  const names = new Set<string>();
  for (const m of (metrics.registry as unknown as { getMetricsAsArray(): { name: string; type?: string }[] }).getMetricsAsArray()) {
    names.add(m.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

const metricNamesIn = (expr: string): string[] => [...expr.matchAll(/\brelay_[a-z0-9_]+\b/g)].map((m) => m[0]);

describe('infra/prometheus', () => {
  it('has the alerts SREs need, on metrics that exist', () => {
    const doc = parse(readFileSync(prom('alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'RelayConsumerLagGrowing',
        'RelayDeadLettersNotEmpty',
        'RelayDeliverySuccessRateLow',
        'RelaySchedulerLate',
        'RelayServiceDown',
        'RelayWebhookDeliveriesDead',
      ].sort(),
    );
    const known = knownMetrics();
    const unknown = rules.flatMap((r) =>
      metricNamesIn(r.expr)
        .filter((n) => !known.has(n))
        .map((n) => `${r.alert}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });
});

describe('infra/grafana/relay-pipeline.json', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(readFileSync(path.join(root, 'infra', 'grafana', 'relay-pipeline.json'), 'utf8')) as { uid: string; panels: Panel[] };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');

  it('has a uid and query panels', () => {
    expect(dashboard.uid).toBe('relay-pipeline');
    expect(panels.length).toBeGreaterThanOrEqual(15);
    expect(panels.filter((p) => !p.targets?.length).map((p) => p.title)).toEqual([]);
  });

  it('every panel queries only metrics RelayMetrics defines', () => {
    const known = knownMetrics();
    const unknown = panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) =>
        metricNamesIn(t.expr)
          .filter((n) => !known.has(n))
          .map((n) => `${p.title}: ${n}`),
      ),
    );
    expect(unknown).toEqual([]);
  });

  it('covers every stage SREs watch', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr))));
    for (const m of [
      'relay_events_ingested_total',
      'relay_events_rejected_total',
      'relay_consumer_lag',
      'relay_consumer_deferred_messages',
      'relay_dlq_messages_total',
      'relay_matcher_events_total',
      'relay_scheduler_backlog',
      'relay_scheduler_lateness_seconds_bucket',
      'relay_webhook_attempts_total',
      'relay_end_to_end_latency_seconds_bucket',
      'relay_history_rows_written_total',
      'relay_http_requests_total',
    ]) {
      expect([m, used.has(m)]).toEqual([m, true]);
    }
  });
});
