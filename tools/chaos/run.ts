/**
 * `npm run chaos`: the fault matrix of docs/reliability.md, ledger-checked. Starts its own
 * Kafka, registry and pipeline on free ports (PostgreSQL: the local server, a fresh
 * database), then for each fault drives HTTP and direct-Kafka load, injects the fault,
 * measures recovery and checks the ledger against history, the DLQ and the receiver log.
 * Prints one `fault …` line per row, a summary, and exits 1 on any FAIL.
 *
 *   npm run chaos                      every row
 *   npm run chaos -- kill-matcher pg   only rows whose name contains one of the words
 */
import path from 'node:path';
import { FAULTS, type Fault, type FaultResult } from './faults';
import { MORE_FAULTS } from './faults-more';
import { formatLine } from './report';
import { CHAOS_ENV, RESTART_POLICY, startChaosStack } from './stack';

async function main(): Promise<void> {
  const started = Date.now();
  const only = process.argv.slice(2);
  const all = [...FAULTS, ...MORE_FAULTS];
  const faults: Fault[] = only.length ? all.filter((f) => only.some((w) => f.name.includes(w))) : all;
  console.log(
    `chaos: ${faults.length} faults; timers ${Object.entries(CHAOS_ENV)
      .filter(([k]) => /SESSION|HEARTBEAT|RETRY|LEASE|POLL/.test(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}; supervisor restart backoff ${RESTART_POLICY.initialDelayMs} ms..${RESTART_POLICY.maxDelayMs} ms`,
  );
  const progress: string[] = [];
  const stack = await startChaosStack({ onProgress: (line) => progress.push(`${new Date().toISOString()} ${line}`) });
  console.log(
    `chaos: stack up in ${((Date.now() - started) / 1000).toFixed(0)} s (gateway ${stack.relay.gatewayUrl}, topics ${stack.relay.topicPrefix}.*, ` +
      `service logs ${path.dirname(stack.relay.services.services[0]?.logFile ?? '.')}${process.env.RELAY_KEEP_TEST_LOGS ? '' : ', removed at the end unless RELAY_KEEP_TEST_LOGS=1'})`,
  );
  const results: { fault: Fault; result?: FaultResult; error?: string; pass: boolean }[] = [];
  let stopping = false;
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    void stack.stop().finally(() => process.exit(130));
  });
  try {
    for (const fault of faults) {
      if (fault.skip) {
        console.log(`fault ${fault.name} SKIP ${fault.skip}`);
        continue;
      }
      const t0 = Date.now();
      try {
        const result = await fault.run(stack);
        const pass = result.verdict.lost === 0 && result.verdict.undelivered === 0 && result.verdict.foreignDupes === 0 && result.failures.length === 0;
        results.push({ fault, result, pass });
        console.log(formatLine(fault.name, pass, result));
        for (const f of result.failures) console.log(`  ! ${f}`);
        for (const n of result.notes) console.log(`  - ${n}`);
        console.log(`  - row ${fault.rows}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      } catch (error) {
        results.push({ fault, error: (error as Error).message, pass: false });
        console.log(`fault ${fault.name} FAIL acked=0 lost=0 undelivered=0 foreign_dupes=0 recovery_s=inf`);
        console.log(`  ! the row could not run: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await stack.stop();
  }
  const failed = results.filter((r) => !r.pass);
  const skipped = faults.filter((f) => f.skip).length;
  const lost = results.reduce((n, r) => n + (r.result?.verdict.lost ?? 0), 0);
  const acked = results.reduce((n, r) => n + (r.result?.verdict.acked ?? 0), 0);
  console.log(
    `summary: ${results.length - failed.length} PASS, ${failed.length} FAIL, ${skipped} SKIP; acked=${acked} lost=${lost}; ` +
      `run time ${((Date.now() - started) / 60000).toFixed(1)} min${failed.length ? `; failed: ${failed.map((r) => r.fault.name).join(', ')}` : ''}`,
  );
  if (process.env.RELAY_CHAOS_VERBOSE) console.log(progress.join('\n'));
  process.exit(failed.length ? 1 : 0);
}

void main().catch((error: Error) => {
  console.error(`chaos: ${error.stack ?? error.message}`);
  process.exit(2);
});
