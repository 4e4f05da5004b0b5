/**
 * promtool's checks of infra/prometheus: the compose config and its rule files parse, the
 * alert rules' unit tests (alerts.test.yml) pass, and so does the config `npm start`
 * generates. promtool is a system binary (Debian's `prometheus` package): like the JDK the
 * other integration specs need, it is installed before the run — `.ci/run` does it with
 * `sh infra/prometheus/install.sh`, a developer once by hand — never by a test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localScrapeConfig } from './local-prometheus';

const dir = path.resolve(__dirname, '..', 'infra', 'prometheus');

function promtool(...args: string[]): string {
  const res = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool could not run (${res.error.message}): install it with \`sh infra/prometheus/install.sh\` as root`);
  if (res.status !== 0) throw new Error(`promtool ${args.join(' ')} failed:\n${res.stdout}${res.stderr}`);
  return `${res.stdout}${res.stderr}`;
}

describe('infra/prometheus (promtool)', () => {
  it('promtool accepts the compose config and its rule files', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS: 6 rules found/);
  });

  it('promtool accepts the alert rules and their unit tests pass', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS/);
    expect(promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('the config npm start generates passes promtool', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'relay-prom-'));
    try {
      const file = path.join(tmp, 'prometheus.yml');
      writeFileSync(
        file,
        localScrapeConfig([
          { name: 'gateway', port: 3000 },
          { name: 'history', port: 3004 },
        ]),
      );
      expect(promtool('check', 'config', file)).toMatch(/SUCCESS/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
