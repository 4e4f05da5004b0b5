/**
 * `npm test`: through Nx, every project's `typecheck`, `lint` (module boundaries included)
 * and `test` (its unit specs) targets; then the integration and end-to-end specs as one
 * Jest run against real Kafka, Apicurio, PostgreSQL and ClickHouse (started once by the
 * Jest global setup on free ports, stopped after), which no single project owns.
 * Ends with the line `N passed, N failed` that CI reads; type check, lint and the format check count as one
 * check each, unit and integration specs one per test.
 *
 * With NX_BASE set to a commit that `git merge-base` finds, only the projects affected
 * since it run (`nx affected`); otherwise all of them (`nx run-many`: a fresh clone, CI).
 * Nx replays unchanged projects from its cache, outputs included.
 *
 * Counting: each project's `test` target writes Jest's JSON report to
 * dist/jest/<project>.json, a declared output of the target, so a cache hit restores it.
 * The reports are deleted before the run and read after: a project whose report is missing
 * (Jest crashed before reporting) counts as one failure, never as zero tests.
 *
 * Arguments after `npm test --` go to the integration Jest run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const env = { ...process.env, NX_DAEMON: 'false' };
let passed = 0;
let failed = 0;

interface JestReport {
  numPassedTests: number;
  numFailedTests: number;
  numRuntimeErrorTestSuites: number;
  numPendingTests: number;
}

function step(title: string, command: string, args: string[]): number {
  console.log(`\n=== ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  const status = result.status ?? 1;
  console.log(`=== ${title}: ${status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return status;
}

function check(title: string, command: string, args: string[]): void {
  if (step(title, command, args) === 0) passed++;
  else failed++;
}

function count(title: string, report: string): void {
  try {
    const result = JSON.parse(readFileSync(report, 'utf8')) as JestReport;
    passed += result.numPassedTests;
    // A suite that fails to load has no failing test of its own: count it as one failure.
    failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
    if (result.numPendingTests > 0) {
      console.log(`${title}: ${result.numPendingTests} skipped tests counted as failed: a skipped test is not a passing test`);
      failed += result.numPendingTests;
    }
  } catch {
    console.log(`${title}: no Jest report (${path.relative(root, report)}), counted as one failure`);
    failed++;
  }
}

/** `affected --base=…` when NX_BASE names a commit shared with HEAD, else `run-many`. */
function selection(): string[] {
  const base = process.env.NX_BASE;
  if (base && spawnSync('git', ['merge-base', base, 'HEAD'], { cwd: root, stdio: 'ignore' }).status === 0) {
    console.log(`Nx: projects affected since ${base}`);
    return ['affected', `--base=${base}`];
  }
  console.log('Nx: all projects (set NX_BASE to a base commit to run only the affected ones)');
  return ['run-many'];
}

function projectsWith(target: string, nxSelection: string[]): string[] {
  const affected = nxSelection[0] === 'affected' ? ['--affected', ...nxSelection.slice(1)] : [];
  const result = spawnSync(bin('nx'), ['show', 'projects', '--with-target', target, ...affected, '--json'], { cwd: root, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`nx show projects failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

const nx = [...selection(), '--outputStyle=static'];
check('typecheck (nx)', bin('nx'), [...nx, '-t', 'typecheck']);
check('lint (nx, module boundaries included)', bin('nx'), [...nx, '-t', 'lint']);
check('format (prettier --check; `npm run format` fixes)', bin('prettier'), ['--check', '--log-level=warn', '.']);

const unitProjects = projectsWith('test', nx);
const report = (project: string) => path.join(root, 'dist', 'jest', `${project}.json`);
for (const project of unitProjects) rmSync(report(project), { force: true });
if (unitProjects.length > 0) step('unit specs (nx)', bin('nx'), [...nx, '-t', 'test']);
for (const project of unitProjects) count(`unit ${project}`, report(project));

const dir = mkdtempSync(path.join(tmpdir(), 'relay-jest-'));
try {
  const out = path.join(dir, 'result.json');
  // The chaos subset (tools/chaos/subset.chaos.spec.ts) runs in the same Jest run, on the
  // same Kafka and registry (one global setup for both projects).
  step('jest integration and chaos subset', bin('jest'), [
    '--selectProjects',
    'integration',
    'chaos',
    '--runInBand',
    '--json',
    `--outputFile=${out}`,
    ...process.argv.slice(2),
  ]);
  count('integration', out);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
