/**
 * `npm test`: type check, lint, unit specs, then integration and end-to-end specs against
 * real Kafka, Apicurio, PostgreSQL and ClickHouse (started once by the Jest global setup
 * on free ports, stopped after). Ends with the line `N passed, N failed` that CI reads;
 * type check and lint count as one check each.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;

function step(title: string, command: string, args: string[]): number {
  console.log(`\n=== ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } });
  const status = result.status ?? 1;
  console.log(`=== ${title}: ${status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return status;
}

function check(title: string, command: string, args: string[]): void {
  if (step(title, command, args) === 0) passed++;
  else failed++;
}

function jest(project: string, extra: string[]): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-jest-'));
  const out = path.join(dir, 'result.json');
  step(`jest ${project}`, bin('jest'), ['--selectProjects', project, '--json', `--outputFile=${out}`, ...extra, ...process.argv.slice(2)]);
  try {
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numRuntimeErrorTestSuites: number;
      numPendingTests: number;
    };
    passed += result.numPassedTests;
    // A suite that fails to load has no failing test of its own: count it as one failure.
    failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
    if (result.numPendingTests > 0) {
      console.log(`${result.numPendingTests} skipped tests counted as failed: a skipped test is not a passing test`);
      failed += result.numPendingTests;
    }
  } catch {
    failed++;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

check('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
// The module-boundary rule reads Nx's cached project graph and silently skips itself
// without one (a fresh clone has none): compute it first.
step('project graph', bin('nx'), ['show', 'projects']);
check('lint', bin('eslint'), ['.']);
jest('unit', []);
jest('integration', ['--runInBand']);

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
