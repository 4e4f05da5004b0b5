/**
 * infra/prometheus and infra/grafana stay true to the code: promtool checks the compose
 * config, the alert rules (and their unit tests) and the config `npm start` generates;
 * every metric an alert or a dashboard panel queries must exist in RelayMetrics.
 * promtool comes from Debian's `prometheus` package, installed by
 * infra/prometheus/install.sh when missing; without it this spec fails, it never skips.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RelayMetrics } from '@relay/observability';
import { parse } from 'yaml';
import { localScrapeConfig } from './local-prometheus';

const root = path.resolve(__dirname, '..');
const prom = (f: string): string => path.join(root, 'infra', 'prometheus', f);

function promtool(...args: string[]): string {
  const res = spawnSync('promtool', args, { cwd: prom(''), encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`promtool ${args.join(' ')} failed:\n${res.stdout}${res.stderr}`);
  return `${res.stdout}${res.stderr}`;
}

beforeAll(() => {
  if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0) return;
  try {
    execFileSync('sh', [prom('install.sh')], { stdio: 'pipe', timeout: 300_000 });
  } catch (error) {
    const e = error as { stderr?: Buffer };
    throw new Error(`promtool is required and could not be installed: ${e.stderr?.toString().trim() ?? String(error)}. Run: sh infra/prometheus/install.sh (as root)`);
  }
}, 320_000);

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
  it('promtool accepts the compose config and its rule files', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS: 6 rules found/);
  });

  it('promtool accepts the alert rules and their unit tests pass', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS/);
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('has the alerts SREs need, on metrics that exist', () => {
    const doc = parse(readFileSync(prom('alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual(
      ['RelayConsumerLagGrowing', 'RelayDeadLettersNotEmpty', 'RelayDeliverySuccessRateLow', 'RelaySchedulerLate', 'RelayServiceDown', 'RelayWebhookDeliveriesDead'].sort(),
    );
    const known = knownMetrics();
    const unknown = rules.flatMap((r) => metricNamesIn(r.expr).filter((n) => !known.has(n)).map((n) => `${r.alert}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('the config npm start generates passes promtool', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-prom-'));
    try {
      const file = path.join(dir, 'prometheus.yml');
      writeFileSync(file, localScrapeConfig([{ name: 'gateway', port: 3000 }, { name: 'history', port: 3004 }]));
      const res = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
      expect(`${res.stdout}${res.stderr}`).toMatch(/SUCCESS/);
      expect(res.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
    const unknown = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr).filter((n) => !known.has(n)).map((n) => `${p.title}: ${n}`)));
    expect(unknown).toEqual([]);
  });

  it('covers every stage SREs watch', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr))));
    for (const m of [
      'relay_events_ingested_total',
      'relay_events_rejected_total',
      'relay_consumer_lag',
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
