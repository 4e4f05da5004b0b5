import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './paths';

/**
 * Lifecycle of the JVMs this library starts. Goals, in order:
 *  1. nothing outlives the Node process that started it, however that process ends;
 *  2. a run that crashed anyway (power loss, SIGKILL of the whole tree) is cleaned up by the
 *     next run, from pid files, without ever killing a process that is not ours;
 *  3. service output goes to log files, never to the terminal.
 *
 * (1) has three layers: stop() (SIGTERM, SIGKILL after a timeout); exit/signal hooks that
 * SIGTERM every live child when the parent exits or gets SIGINT/SIGTERM/SIGHUP; and a tiny
 * `sh` watchdog per child that notices when the parent is gone (e.g. it was SIGKILLed, so no
 * hook ran) and terminates the child itself. Node cannot set PR_SET_PDEATHSIG, hence the
 * watchdog.
 */

export interface SpawnManagedOptions {
  /** Short name for logs and pid files, e.g. "kafka". */
  name: string;
  command: string;
  args: string[];
  /**
   * A string unique to this instance that appears in its command line (see jvmMarker()).
   * Orphan cleanup only kills a pid whose command line still contains it, so a recycled pid
   * belonging to someone else is never touched.
   */
  marker: string;
  cwd: string;
  /** Added to the inherited environment. */
  env?: Record<string, string | undefined>;
  /** stdout and stderr of the process (appended). */
  logFile: string;
  /** Folder for pid files. */
  stateDir: string;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  log?: Logger;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (for any reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

interface PidFile {
  name: string;
  pid: number;
  ownerPid: number;
  watchdogPid?: number;
  marker: string;
  logFile: string;
  startedAt: string;
}

const PID_SUFFIX = '.pid.json';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A marker system property for a JVM command line: `-Drelay.local-stack=<name>:<uuid>`. */
export function jvmMarker(name: string): { marker: string; arg: string } {
  const marker = `${name}:${randomUUID()}`;
  return { marker, arg: `-Drelay.local-stack=${marker}` };
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Whether the pid is a running process. A zombie (exited, not yet reaped) counts as gone. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user (so it is not ours to manage).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    // No procfs (macOS): ask ps.
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  }
}

/** Signals the process group (children are spawned detached, so they lead one), else the pid. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

export function tailFile(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- exit hooks -------------------------------------------------------------------------

const live = new Set<ManagedProcess>();
const HOOK_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function terminateAllSync(): void {
  for (const child of live) if (!child.hasExited()) signal(child.pid, 'SIGTERM');
}

const onExit = (): void => terminateAllSync();

const onSignal = (sig: NodeJS.Signals): void => {
  terminateAllSync();
  uninstallHooks();
  // Our listener replaced Node's default "exit on signal"; restore it unless the host
  // program has its own handler for this signal.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
};

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const sig of HOOK_SIGNALS) process.on(sig, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const sig of HOOK_SIGNALS) process.off(sig, onSignal);
}

// ---- watchdog ---------------------------------------------------------------------------

// $1 owner pid, $2 child pid, $3 grace seconds. Exits as soon as the child is gone; if the
// owner disappears first, SIGTERMs the child's group, then SIGKILLs it after the grace time.
const WATCHDOG = `
owner=$1; child=$2; grace=$3
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$owner" 2>/dev/null; then
    kill -TERM -"$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
    i=0
    while kill -0 "$child" 2>/dev/null && [ "$i" -lt "$grace" ]; do sleep 1; i=$((i+1)); done
    kill -KILL -"$child" 2>/dev/null || kill -KILL "$child" 2>/dev/null
    exit 0
  fi
  sleep 1
done
`;

function startWatchdog(childPid: number, graceSeconds: number): number | undefined {
  try {
    const dog = spawn('sh', ['-c', WATCHDOG, 'relay-local-stack-watchdog', String(process.pid), String(childPid), String(graceSeconds)], {
      detached: true,
      stdio: 'ignore',
    });
    dog.on('error', () => undefined);
    dog.unref();
    return dog.pid;
  } catch {
    return undefined;
  }
}

// ---- orphans ----------------------------------------------------------------------------

/**
 * Kills processes recorded in `stateDir` whose owner (the Node process that started them)
 * is dead, i.e. leftovers of a crashed run, and removes their pid files. Processes of a run
 * that is still alive (another terminal, a parallel test run) are left alone.
 */
export async function reapOrphans(stateDir: string, log?: Logger): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(stateDir).filter((f) => f.endsWith(PID_SUFFIX));
  } catch {
    return 0;
  }
  let reaped = 0;
  for (const file of files) {
    const full = path.join(stateDir, file);
    let record: PidFile;
    try {
      record = JSON.parse(readFileSync(full, 'utf8')) as PidFile;
    } catch {
      rmSync(full, { force: true });
      continue;
    }
    // Still owned by a live process (this one included): not an orphan.
    if (record.ownerPid === process.pid || isProcessAlive(record.ownerPid)) continue;
    const ours = () => isProcessAlive(record.pid) && (commandLine(record.pid) ?? '').includes(record.marker);
    if (ours()) {
      log?.(`stopping orphaned ${record.name} (pid ${record.pid}) left by a previous run (owner ${record.ownerPid} is gone)`);
      signal(record.pid, 'SIGTERM');
      if (!(await waitUntil(() => !ours(), 15000))) {
        signal(record.pid, 'SIGKILL');
        await waitUntil(() => !ours(), 5000);
      }
      reaped++;
    }
    rmSync(full, { force: true });
  }
  return reaped;
}

// ---- spawn ------------------------------------------------------------------------------

export async function spawnManaged(options: SpawnManagedOptions): Promise<ManagedProcess> {
  if (!options.args.some((a) => a.includes(options.marker))) {
    throw new Error(`spawnManaged(${options.name}): the marker must appear in the arguments`);
  }
  mkdirSync(options.stateDir, { recursive: true });
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  await reapOrphans(options.stateDir, options.log);

  const out = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      // Own process group: a Ctrl-C in the terminal reaches only Node, which then stops the
      // services in order (and the group can be signalled as a whole).
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out); // the child has its own copy of the descriptor
  }
  const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(undefined));
  });
  if (spawnError || child.pid === undefined) {
    const hint = spawnError?.code === 'ENOENT' ? ` (is ${options.command} installed and on PATH?)` : '';
    throw new Error(`could not start ${options.name}: ${spawnError?.message ?? 'no pid'}${hint}`);
  }
  const pid = child.pid;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30000;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const pidFile = path.join(options.stateDir, `${options.name}-${pid}${PID_SUFFIX}`);
  const watchdogPid = startWatchdog(pid, Math.ceil(stopTimeoutMs / 1000));
  const record: PidFile = {
    name: options.name,
    pid,
    ownerPid: process.pid,
    ...(watchdogPid !== undefined ? { watchdogPid } : {}),
    marker: options.marker,
    logFile: options.logFile,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(pidFile, JSON.stringify(record, null, 2));

  let stopping: Promise<void> | undefined;
  const managed: ManagedProcess = {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited,
    stop(timeoutMs = stopTimeoutMs) {
      stopping ??= (async () => {
        if (!hasExited()) {
          signal(pid, 'SIGTERM');
          if (!(await waitUntil(hasExited, timeoutMs))) {
            options.log?.(`${options.name} (pid ${pid}) ignored SIGTERM for ${timeoutMs} ms: SIGKILL`);
            signal(pid, 'SIGKILL');
            await waitUntil(hasExited, 10000);
          }
        }
        if (watchdogPid !== undefined && isProcessAlive(watchdogPid)) signal(watchdogPid, 'SIGTERM');
        rmSync(pidFile, { force: true });
        live.delete(managed);
        if (live.size === 0) uninstallHooks();
      })();
      return stopping;
    },
  };
  // A child that dies on its own should not keep the hooks installed nor leave a pid file.
  void exited.then(() => {
    if (!stopping) {
      rmSync(pidFile, { force: true });
      live.delete(managed);
      if (live.size === 0) uninstallHooks();
    }
  });
  live.add(managed);
  installHooks();
  return managed;
}
