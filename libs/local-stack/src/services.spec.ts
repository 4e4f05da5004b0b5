import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getFreePort } from './ports';
import { restartDelayMs, serveSupervisorMetrics, startRelayServices, type RelayServices } from './services';

describe('restartDelayMs', () => {
  it('doubles from the initial delay per crash in a row, up to the cap', () => {
    const policy = { initialDelayMs: 250, maxDelayMs: 4000 };
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => restartDelayMs(n, policy))).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000]);
  });
});

/**
 * The supervisor against a stand-in service: a tiny Node HTTP server placed where
 * startRelayServices looks for services/<name>/src/main.ts, answering /health/ready.
 */
describe('startRelayServices with supervise', () => {
  let root: string;
  let services: RelayServices | undefined;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'relay-supervisor-'));
    mkdirSync(path.join(root, 'tools'));
    writeFileSync(path.join(root, 'tools', 'register.js'), '');
    mkdirSync(path.join(root, 'services', 'validator', 'src'), { recursive: true });
    // What the warm standby preloads (a real service's module graph).
    writeFileSync(path.join(root, 'services', 'validator', 'src', 'app.module.ts'), 'export const loaded = true;\n');
    writeFileSync(
      path.join(root, 'services', 'validator', 'src', 'main.ts'),
      `require('node:http').createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');`,
    );
  });

  afterEach(async () => {
    await services?.stop(2000);
    services = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  const start = async (supervise: boolean, lines: string[] = []) => {
    const port = await getFreePort();
    services = await startRelayServices([{ name: 'validator', port, env: { PORT: String(port) } }], {
      root,
      logDir: path.join(root, 'logs'),
      env: {},
      readyTimeoutMs: 20000,
      supervise: supervise && { initialDelayMs: 50, maxDelayMs: 200, resetAfterMs: 60000 },
      onProgress: (line) => lines.push(line),
    });
    return services;
  };

  it('restarts a SIGKILLed service with a new pid, logs it and counts it in a scrapeable metric', async () => {
    const lines: string[] = [];
    const s = await start(true, lines);
    const firstPid = s.services[0]?.pid;
    await s.kill('validator', 'SIGKILL');
    await s.waitReady('validator', 20000);
    expect(s.services[0]?.pid).not.toBe(firstPid);
    expect(s.restarts('validator')).toBe(1);
    expect(lines.some((l) => /validator \(pid \d+\) exited \(signal SIGKILL\).*restart in 50 ms/.test(l))).toBe(true);
    // The restart is the warm standby the supervisor had prepared, promoted.
    expect(lines.some((l) => /started validator \(pid \d+\) from its warm standby/.test(l))).toBe(true);

    const server = await serveSupervisorMetrics(s.metrics, await getFreePort());
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/relay_supervisor_restarts_total\{service="validator",reason="signal"\} 1/);
      expect(text).toMatch(/relay_supervisor_service_up\{service="validator"\} 1/);
    } finally {
      await server.stop();
    }
  });

  it('backs off exponentially while the service keeps dying', async () => {
    const lines: string[] = [];
    const s = await start(true, lines);
    await s.kill('validator', 'SIGKILL');
    await s.waitReady('validator', 20000);
    await s.kill('validator', 'SIGKILL');
    await s.waitReady('validator', 20000);
    expect(s.restarts('validator')).toBe(2);
    expect(lines.filter((l) => /\) exited \(/.test(l)).map((l) => /restart in (\d+) ms/.exec(l)?.[1])).toEqual(['50', '100']);
  });

  it('restarts nothing after stop()', async () => {
    const s = await start(true);
    const child = s.services[0]?.pid;
    await s.stop(2000);
    expect(s.restarts('validator')).toBe(0);
    expect(() => process.kill(child as number, 0)).toThrow();
    // Supervision is off: waiting for readiness fails instead of following a restart.
    await expect(s.waitReady('validator', 500)).rejects.toThrow(/exited/);
  });

  it('leaves a killed service down without supervise', async () => {
    const s = await start(false);
    await s.kill('validator', 'SIGKILL');
    expect(s.restarts('validator')).toBe(0);
    await expect(s.waitReady('validator', 500)).rejects.toThrow(/exited/);
    await s.start('validator');
    await s.waitReady('validator', 5000);
  });
});
