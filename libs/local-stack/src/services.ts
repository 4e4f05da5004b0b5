import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { serveMetrics } from '@relay/observability';

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
  /** Pid of the current process (a supervised service gets a new one on every restart). */
  readonly pid: number;
  logFile: string;
}

/**
 * When and how fast a supervised service is started again after it exits on its own, the
 * semantics of compose's `restart: unless-stopped`: any exit that stop() did not ask for
 * (crash, SIGKILL, exit code 0 or not) is followed by a restart after an exponential backoff.
 */
export interface RestartPolicy {
  /** Delay before the first restart; doubles for each further consecutive crash. Default 250 ms. */
  initialDelayMs?: number;
  /** Upper bound of the delay. Default 30 s. */
  maxDelayMs?: number;
  /** A process that stayed up this long starts the backoff over on its next crash. Default 30 s. */
  resetAfterMs?: number;
}

export interface RelayServices {
  services: RunningService[];
  /** Supervisor metrics (relay_supervisor_*); serve them with serveSupervisorMetrics(). */
  metrics: Registry;
  /** SIGTERM to every service (graceful: finish the batch, commit), SIGKILL after the timeout. Nothing is restarted after it. */
  stop(timeoutMs?: number): Promise<void>;
  /** Synchronously turns supervision off, e.g. first thing in a SIGINT handler, before children exit. */
  stopRestarting(): void;
  /**
   * Signals one service and waits for its process to exit: SIGKILL (default) simulates a crash.
   * A supervised service is then restarted by the supervisor, like any other exit.
   */
  kill(name: RelayServiceName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Unsupervised: starts a stopped service again with the same environment and waits until it
   * is ready. Supervised: waits until the supervisor's restart of it is ready.
   */
  start(name: RelayServiceName): Promise<void>;
  /** Waits until the service's current process answers /health/ready (a restart in between is followed). */
  waitReady(name: RelayServiceName, timeoutMs?: number): Promise<void>;
  /** Restarts the supervisor made of this service so far. */
  restarts(name: RelayServiceName): number;
  /** Supervised: whether a warm standby of the service has loaded its modules (its next restart is then fast). */
  warm(name: RelayServiceName): boolean;
}

export interface StartServicesOptions {
  /** Repository root (holds tools/register.js and services/). */
  root: string;
  logDir: string;
  /** Environment shared by every service (each spec's env is added on top). */
  env: Record<string, string>;
  readyTimeoutMs?: number;
  /** Progress and supervision events (starts, exits, restarts), one line each. */
  onProgress?: (message: string) => void;
  /** Restart services that exit on their own (true: the default RestartPolicy). Default off. */
  supervise?: boolean | RestartPolicy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function waitReady(url: string, child: ChildProcess, logFile: string, deadline: number): Promise<void> {
  for (;;) {
    if (hasExited(child)) {
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

const DEFAULT_POLICY: Required<RestartPolicy> = { initialDelayMs: 250, maxDelayMs: 30000, resetAfterMs: 30000 };

/** Delay before the restart that follows the `consecutive`-th crash in a row (1-based). */
export function restartDelayMs(consecutive: number, policy: RestartPolicy = {}): number {
  const { initialDelayMs, maxDelayMs } = { ...DEFAULT_POLICY, ...policy };
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, Math.min(consecutive - 1, 30)));
}

/** The service's process, or (`standby`) a warm standby of it: see standby.ts. */
function spawnService(spec: RelayServiceSpec, options: StartServicesOptions, standby = false): { child: ChildProcess; logFile: string } {
  const logFile = path.join(options.logDir, `${spec.name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const main = path.join(options.root, 'services', spec.name, 'src', 'main.ts');
  const child = spawn(
    process.execPath,
    [
      // kafkajs 2.2.4 schedules a timer with a negative delay on Node >= 24 (kafkajs#1751;
      // libs/kafka patches it, see request-queue-fix.ts); keep the warning out of the logs
      // should a client run before the patch is loaded.
      '--disable-warning=TimeoutNegativeWarning',
      '-r',
      path.join(options.root, 'tools', 'register.js'),
      ...(standby ? [STANDBY_SCRIPT, path.join(options.root, 'services', spec.name, 'src', 'app.module.ts'), main] : [main]),
    ],
    { cwd: options.root, env: { ...process.env, ...options.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe', ...(standby ? ['ipc' as const] : [])] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (!standby) options.onProgress?.(`started ${spec.name} (pid ${child.pid}), log ${logFile}`);
  return { child, logFile };
}

const STANDBY_SCRIPT = path.join(__dirname, 'standby.ts');

/** One service under (optional) supervision: its current process and its crash history. */
interface Slot {
  spec: RelayServiceSpec;
  url: string;
  child: ChildProcess;
  logFile: string;
  startedAt: number;
  /** Crashes in a row, each within resetAfterMs of its start: the backoff exponent. */
  consecutive: number;
  restarts: number;
  /** The pending restart, cleared once it runs or on stop. */
  timer?: NodeJS.Timeout | undefined;
  /** A warm standby (supervised mode), promoted on the next crash; cleared once used or gone. */
  standby?: ChildProcess | undefined;
  /** The standby has loaded the service's modules. */
  standbyLoaded?: boolean;
}

/**
 * Starts Relay's services as child processes of this one (same Node binary, TypeScript
 * compiled at load by tools/register.js), logs to one file per service, and resolves once
 * every service answers /health/ready.
 *
 * With `supervise`, a service that exits without stop() asking (a crash, an OOM kill, a
 * stage that exits because its Kafka consumer died) is started again after an exponential
 * backoff, each restart logged and counted in relay_supervisor_restarts_total. Hand-rolled
 * rather than pm2 or systemd: it is ~80 lines, keeps the services children of `npm start`
 * (so Ctrl-C and the JVM watchdogs of managed-process.ts keep working unchanged) and needs
 * no daemon; in containers compose's `restart: unless-stopped` does the same job.
 */
export async function startRelayServices(specs: RelayServiceSpec[], options: StartServicesOptions): Promise<RelayServices> {
  mkdirSync(options.logDir, { recursive: true });
  const policy: Required<RestartPolicy> | null = options.supervise ? { ...DEFAULT_POLICY, ...(options.supervise === true ? {} : options.supervise) } : null;
  const readyTimeoutMs = options.readyTimeoutMs ?? 120000;
  const say = (line: string) => options.onProgress?.(line);

  const metrics = new Registry();
  const restartsTotal = new Counter({
    name: 'relay_supervisor_restarts_total',
    help: 'Restarts of a Relay service process by the npm start supervisor, by how the previous process ended.',
    labelNames: ['service', 'reason'] as const,
    registers: [metrics],
  });
  const up = new Gauge({
    name: 'relay_supervisor_service_up',
    help: '1 while the service process the supervisor started is running, 0 while it is down or waiting for its restart.',
    labelNames: ['service'] as const,
    registers: [metrics],
  });
  const backoff = new Gauge({
    name: 'relay_supervisor_restart_backoff_seconds',
    help: 'Delay the supervisor waited before the last restart of the service.',
    labelNames: ['service'] as const,
    registers: [metrics],
  });

  let stopping = false;
  const slots: Slot[] = [];

  /** Supervised mode: keeps one preloaded standby per service (see standby.ts). */
  const prepareStandby = (slot: Slot): void => {
    if (!policy || stopping || (slot.standby && !hasExited(slot.standby))) return;
    const { child } = spawnService(slot.spec, options, true);
    child.on('error', () => undefined); // e.g. sending 'start' to one that just died
    slot.standby = child;
    slot.standbyLoaded = false;
    child.once('message', (message) => {
      if (message === 'loaded' && slot.standby === child) slot.standbyLoaded = true;
    });
    child.once('exit', () => {
      if (slot.standby === child) slot.standby = undefined;
    });
  };

  const launch = (slot: Slot): void => {
    const standby = slot.standby;
    slot.standby = undefined;
    slot.standbyLoaded = false;
    let started: { child: ChildProcess; logFile: string };
    if (standby && !hasExited(standby) && standby.connected) {
      standby.send('start');
      started = { child: standby, logFile: slot.logFile };
      say(`started ${slot.spec.name} (pid ${standby.pid}) from its warm standby`);
    } else {
      started = spawnService(slot.spec, options);
    }
    const { child, logFile } = started;
    slot.child = child;
    slot.logFile = logFile;
    slot.startedAt = Date.now();
    up.set({ service: slot.spec.name }, 1);
    child.once('exit', (code, signal) => onExit(slot, child, code, signal));
  };

  const onExit = (slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (slot.child !== child) return;
    const name = slot.spec.name;
    up.set({ service: name }, 0);
    if (stopping || !policy) return;
    const uptimeMs = Date.now() - slot.startedAt;
    if (uptimeMs >= policy.resetAfterMs) slot.consecutive = 0;
    slot.consecutive++;
    const delay = restartDelayMs(slot.consecutive, policy);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    say(`${name} (pid ${child.pid}) exited (${how}) after ${(uptimeMs / 1000).toFixed(1)} s; restart in ${delay} ms (crash ${slot.consecutive} in a row)`);
    backoff.set({ service: name }, delay / 1000);
    const crashedAt = Date.now();
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (stopping) return;
      slot.restarts++;
      restartsTotal.inc({ service: name, reason: signal ? 'signal' : code === 0 ? 'exit_0' : 'exit_error' });
      launch(slot);
      const restarted = slot.child;
      waitReady(slot.url, restarted, slot.logFile, Date.now() + readyTimeoutMs).then(
        () => {
          say(`${name} ready again (pid ${restarted.pid}), ${((Date.now() - crashedAt) / 1000).toFixed(1)} s after it exited`);
          prepareStandby(slot);
        },
        // An exit before ready is handled (and restarted) by onExit; only a hang is reported here.
        (error: Error) => {
          if (!hasExited(restarted)) say(`${name} restarted but not ready: ${error.message.split('\n')[0]}`);
        },
      );
    }, delay);
  };

  const stopRestarting = () => {
    stopping = true;
    for (const slot of slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      if (slot.standby && !hasExited(slot.standby)) slot.standby.kill('SIGTERM');
      slot.standby = undefined;
    }
  };

  const stop = async (timeoutMs = 15000): Promise<void> => {
    stopRestarting();
    await Promise.all(
      slots.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (hasExited(child)) return resolve();
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

  const slotOf = (name: RelayServiceName): Slot => {
    const slot = slots.find((s) => s.spec.name === name);
    if (!slot) throw new Error(`${name} was not started by this stack`);
    return slot;
  };

  /** Follows restarts: waits for whichever process is current until one is ready. */
  const waitCurrentReady = async (name: RelayServiceName, timeoutMs = readyTimeoutMs): Promise<void> => {
    const slot = slotOf(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const child = slot.child;
      try {
        await waitReady(slot.url, child, slot.logFile, deadline);
        return;
      } catch (error) {
        if (!policy || stopping || !hasExited(child) || Date.now() > deadline) throw error;
        // Exited while we waited: the supervisor starts another one; wait for that.
        while (slot.child === child && Date.now() <= deadline && !stopping) await sleep(100);
      }
    }
  };

  try {
    for (const spec of specs) {
      const slot = { spec, url: `http://127.0.0.1:${spec.port}`, consecutive: 0, restarts: 0 } as Slot;
      slots.push(slot);
      launch(slot);
    }
    const deadline = Date.now() + readyTimeoutMs;
    // The first start must succeed on its own: a service that cannot boot at all (bad
    // config, port taken) fails npm start instead of looping in the supervisor.
    await Promise.all(
      slots.map(async ({ spec, child, logFile, url }) => {
        await waitReady(url, child, logFile, deadline);
        say(`${spec.name} ready on :${spec.port}`);
      }),
    );
    // Only now, so that standbys do not slow the first boot down.
    for (const slot of slots) prepareStandby(slot);
  } catch (error) {
    await stop(5000);
    throw error;
  }
  return {
    services: slots.map((slot) => ({
      name: slot.spec.name,
      url: slot.url,
      get pid() {
        return slot.child.pid ?? -1;
      },
      get logFile() {
        return slot.logFile;
      },
    })),
    metrics,
    stop,
    stopRestarting,
    async kill(name, signal = 'SIGKILL') {
      const { child } = slotOf(name);
      if (hasExited(child)) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
    async start(name) {
      const slot = slotOf(name);
      if (!policy) {
        if (!hasExited(slot.child)) throw new Error(`${name} is still running`);
        launch(slot);
      }
      await waitCurrentReady(name);
    },
    waitReady: (name, timeoutMs) => waitCurrentReady(name, timeoutMs),
    restarts: (name) => slotOf(name).restarts,
    warm: (name) => slotOf(name).standbyLoaded === true,
  };
}

/**
 * Serves the supervisor's metrics (`GET /metrics`, Prometheus text) on host:port, so the
 * restarts of `npm start`'s services can be scraped and alerted on like the services themselves.
 */
export function serveSupervisorMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ url: string; stop(): Promise<void> }> {
  return serveMetrics(registry, port, host);
}
