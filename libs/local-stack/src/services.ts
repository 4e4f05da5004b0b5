import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SERVICE_NAMES = ['gateway', 'validator', 'matcher', 'dispatcher', 'history'] as const;
export type RelayServiceName = (typeof SERVICE_NAMES)[number];

export interface RelayServiceSpec {
  name: RelayServiceName;
  port: number;
  env: Record<string, string>;
}

export interface RunningService {
  name: RelayServiceName;
  url: string;
  pid: number;
  logFile: string;
}

export interface RelayServices {
  services: RunningService[];
  /** SIGTERM to every service (graceful: finish the batch, commit), SIGKILL after the timeout. */
  stop(timeoutMs?: number): Promise<void>;
  /** Stops one service and waits for it to exit: SIGKILL (default) simulates a crash. */
  kill(name: RelayServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped service again with the same environment and waits until it is ready. */
  start(name: RelayServiceName): Promise<void>;
}

export interface StartServicesOptions {
  /** Repository root (holds tools/register.js and services/). */
  root: string;
  logDir: string;
  /** Environment shared by every service (each spec's env is added on top). */
  env: Record<string, string>;
  readyTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(url: string, child: ChildProcess, logFile: string, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${path.basename(logFile, '.log')} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${path.basename(logFile, '.log')} not ready at ${url}/health/ready in time:\n${tail(logFile)}`);
    }
    await sleep(250);
  }
}

function spawnService(spec: RelayServiceSpec, options: StartServicesOptions): { spec: RelayServiceSpec; child: ChildProcess; logFile: string } {
  const logFile = path.join(options.logDir, `${spec.name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      // kafkajs 2.2.4 schedules a timer with a negative delay on Node >= 24 (kafkajs#1751,
      // harmless: Node clamps it to 1 ms); keep that one warning out of the logs.
      '--disable-warning=TimeoutNegativeWarning',
      '-r',
      path.join(options.root, 'tools', 'register.js'),
      path.join(options.root, 'services', spec.name, 'src', 'main.ts'),
    ],
    { cwd: options.root, env: { ...process.env, ...options.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  options.onProgress?.(`started ${spec.name} (pid ${child.pid}), log ${logFile}`);
  return { spec, child, logFile };
}

/**
 * Starts Relay's services as child processes of this one (same Node binary, TypeScript
 * compiled at load by tools/register.js), logs to one file per service, and resolves once
 * every service answers /health/ready.
 */
export async function startRelayServices(specs: RelayServiceSpec[], options: StartServicesOptions): Promise<RelayServices> {
  mkdirSync(options.logDir, { recursive: true });
  const children: { spec: RelayServiceSpec; child: ChildProcess; logFile: string }[] = [];
  const stop = async (timeoutMs = 15000): Promise<void> => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    for (const spec of specs) children.push(spawnService(spec, options));
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120000);
    await Promise.all(
      children.map(async ({ spec, child, logFile }) => {
        await waitReady(`http://127.0.0.1:${spec.port}`, child, logFile, deadline);
        options.onProgress?.(`${spec.name} ready on :${spec.port}`);
      }),
    );
  } catch (error) {
    await stop(5000);
    throw error;
  }
  return {
    services: children.map(({ spec, child, logFile }) => ({
      name: spec.name,
      url: `http://127.0.0.1:${spec.port}`,
      pid: child.pid ?? -1,
      logFile,
    })),
    stop,
    async kill(name, signal = 'SIGKILL') {
      const entry = children.find((c) => c.spec.name === name);
      if (!entry || entry.child.exitCode !== null || entry.child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        entry.child.once('exit', () => resolve());
        entry.child.kill(signal);
      });
    },
    async start(name) {
      const index = children.findIndex((c) => c.spec.name === name);
      const entry = children[index];
      if (!entry) throw new Error(`${name} was not started by this stack`);
      if (entry.child.exitCode === null && entry.child.signalCode === null) throw new Error(`${name} is still running`);
      const next = spawnService(entry.spec, options);
      children[index] = next;
      await waitReady(`http://127.0.0.1:${next.spec.port}`, next.child, next.logFile, Date.now() + (options.readyTimeoutMs ?? 120000));
    },
  };
}
