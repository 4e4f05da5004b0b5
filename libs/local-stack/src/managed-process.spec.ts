import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isProcessAlive, jvmMarker, reapOrphans, spawnManaged } from './managed-process';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** A pid that surely belongs to no process any more. */
function deadPid(): number {
  const done = spawnSync('true');
  return done.pid;
}

describe('spawnManaged', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay-managed-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const options = (script: string) => {
    const { marker } = jvmMarker('test');
    // `sh -c SCRIPT NAME`: NAME ($0) carries the marker into the command line.
    return {
      name: 'test',
      command: 'sh',
      args: ['-c', script, marker],
      marker,
      cwd: dir,
      logFile: path.join(dir, 'logs', 'test.log'),
      stateDir: path.join(dir, 'run'),
    };
  };

  it('logs to a file, writes a pid file, and stops with SIGTERM', async () => {
    const proc = await spawnManaged(options('echo started; while :; do sleep 0.1; done'));
    const pidFiles = readdirSync(path.join(dir, 'run'));
    expect(pidFiles).toEqual([`test-${proc.pid}.pid.json`]);
    expect(JSON.parse(readFileSync(path.join(dir, 'run', pidFiles[0] as string), 'utf8'))).toMatchObject({ pid: proc.pid, ownerPid: process.pid });
    await sleep(300);
    expect(readFileSync(proc.logFile, 'utf8')).toContain('started');
    await proc.stop();
    expect(proc.hasExited()).toBe(true);
    expect(readdirSync(path.join(dir, 'run'))).toEqual([]);
  });

  it('SIGKILLs a process that ignores SIGTERM', async () => {
    const proc = await spawnManaged(options('trap "" TERM; while :; do sleep 0.1; done'));
    const started = Date.now();
    await proc.stop(500);
    expect(proc.hasExited()).toBe(true);
    expect((await proc.exited).signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails clearly when the command does not exist', async () => {
    const { marker, arg } = jvmMarker('missing');
    await expect(
      spawnManaged({ name: 'missing', command: 'relay-no-such-command', args: [arg], marker, cwd: dir, logFile: path.join(dir, 'x.log'), stateDir: dir }),
    ).rejects.toThrow(/installed and on PATH/);
  });

  it('terminates the child when its owner dies without running any hook (SIGKILL)', async () => {
    // An owner process that starts a managed child, reports its pid, and idles.
    const script = `
      const { spawnManaged, jvmMarker } = require(${JSON.stringify(path.join(__dirname, 'managed-process.ts'))});
      const { marker } = jvmMarker('orphan');
      spawnManaged({ name: 'orphan', command: 'sh', args: ['-c', 'while :; do sleep 0.1; done', marker], marker,
        cwd: ${JSON.stringify(dir)}, logFile: ${JSON.stringify(path.join(dir, 'orphan.log'))}, stateDir: ${JSON.stringify(path.join(dir, 'run'))}, stopTimeoutMs: 2000 })
        .then((p) => { process.stdout.write(p.pid + '\\n'); setInterval(() => undefined, 1000); });
    `;
    const owner = spawn(process.execPath, ['-r', path.join(__dirname, '..', '..', '..', 'tools', 'register.js'), '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      owner.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      owner.once('exit', () => reject(new Error('owner exited early')));
    });
    expect(isProcessAlive(childPid)).toBe(true);
    owner.kill('SIGKILL');
    // The watchdog polls every second, then SIGTERMs the child.
    expect(await waitDead(childPid, 10000)).toBe(true);
  }, 30000);
});

describe('reapOrphans', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay-reap-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function startLoose(marker: string) {
    const child = spawn('sh', ['-c', 'while :; do sleep 0.1; done', marker], { detached: true, stdio: 'ignore' });
    return child;
  }
  function pidFile(name: string, record: object) {
    writeFileSync(path.join(dir, `${name}.pid.json`), JSON.stringify(record));
  }

  it('kills processes whose owner is gone, and only those that still carry their marker', async () => {
    const orphan = startLoose('relay-test-marker-orphan');
    const owned = startLoose('relay-test-marker-owned');
    const stranger = startLoose('something-else');
    try {
      pidFile('orphan', { name: 'orphan', pid: orphan.pid, ownerPid: deadPid(), marker: 'relay-test-marker-orphan' });
      pidFile('owned', { name: 'owned', pid: owned.pid, ownerPid: process.pid, marker: 'relay-test-marker-owned' });
      // A recycled pid: the recorded marker is not in this process's command line.
      pidFile('recycled', { name: 'recycled', pid: stranger.pid, ownerPid: deadPid(), marker: 'relay-test-marker-recycled' });

      expect(await reapOrphans(dir)).toBe(1);
      expect(await waitDead(orphan.pid as number, 5000)).toBe(true);
      expect(isProcessAlive(owned.pid as number)).toBe(true);
      expect(isProcessAlive(stranger.pid as number)).toBe(true);
      expect(existsSync(path.join(dir, 'owned.pid.json'))).toBe(true);
      expect(existsSync(path.join(dir, 'orphan.pid.json'))).toBe(false);
      expect(existsSync(path.join(dir, 'recycled.pid.json'))).toBe(false);
    } finally {
      for (const child of [orphan, owned, stranger]) child.kill('SIGKILL');
    }
  });
});
