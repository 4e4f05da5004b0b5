/**
 * startRelay() (libs/testing) creates a relay_test_* database, a chDB directory and a log
 * directory before it starts the five services, and when a service fails to become ready
 * (or the run is interrupted meanwhile) it stops the services but keeps those three; it
 * also cannot be cancelled. While it starts, this guard reads the names from the
 * environment of this process's service children (/proc) and the log files this process
 * writes, so the benchmark can stop the children early and remove what startRelay left.
 * Linux only (procfs); elsewhere it learns nothing and removes nothing.
 */
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dropTestDatabase } from '@relay/testing';

export interface RelayStartLeftovers {
  pgUrl?: string;
  chdbDir?: string;
  logDir?: string | undefined;
}

function parentPid(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Pids of this process's children running a Relay service (services/<name>/src/main.ts). */
function serviceChildren(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const pid of entries) {
    if (parentPid(pid) !== process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (/services[/\\][a-z]+[/\\]src[/\\]main\.ts/.test(cmdline)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function environOf(pid: number): Record<string, string> {
  try {
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}

/** The relay-logs-* directory of the service log files this process has open. */
function openLogDir(): string | undefined {
  const prefix = path.join(tmpdir(), 'relay-logs-');
  try {
    for (const fd of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith(prefix) && target.endsWith('.log')) return path.dirname(target);
    }
  } catch {
    // no procfs
  }
  return undefined;
}

export class RelayStartGuard {
  private readonly found: RelayStartLeftovers = {};
  private children: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 250) {
    this.timer = setInterval(() => this.look(), everyMs);
    this.timer.unref();
  }

  private look(): void {
    this.found.logDir ??= openLogDir();
    const children = serviceChildren();
    if (children.length > 0) this.children = children;
    if (this.found.pgUrl && this.found.chdbDir) return;
    for (const pid of children) {
      const env = environOf(pid);
      if (env.RELAY_PG_URL && env.RELAY_CHDB_PATH) {
        this.found.pgUrl = env.RELAY_PG_URL;
        this.found.chdbDir = env.RELAY_CHDB_PATH;
        return;
      }
    }
  }

  /** Stops watching (startRelay settled). */
  stop(): void {
    clearInterval(this.timer);
  }

  /** SIGTERM to the services being started, so an interrupted startRelay fails now rather than at its ready timeout. */
  terminateChildren(): void {
    this.look();
    for (const pid of this.children) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }

  /** After startRelay rejected: drops its test database, removes its chDB and log directories. */
  async removeLeftovers(log: (line: string) => void): Promise<void> {
    this.look();
    this.stop();
    const { pgUrl, chdbDir, logDir } = this.found;
    if (pgUrl) {
      const name = new URL(pgUrl).pathname.slice(1);
      // dropTestDatabase refuses any database not named relay_test_*.
      await dropTestDatabase(pgUrl).then(
        () => log(`dropped ${name}, left by the unfinished start`),
        (e: Error) => log(`could not drop ${name}: ${e.message}`),
      );
    }
    const tmp = tmpdir();
    // The harness keeps service logs when RELAY_KEEP_TEST_LOGS is set: so does this.
    for (const dir of [chdbDir, process.env.RELAY_KEEP_TEST_LOGS ? undefined : logDir]) {
      // Only the harness's own temp directories.
      if (dir && path.dirname(dir) === tmp && /^relay-(chdb|logs)-/.test(path.basename(dir))) {
        rmSync(dir, { recursive: true, force: true });
        log(`removed ${dir}`);
      }
    }
  }
}
