import type { FaultResult } from './faults';

/** The one line per fault the run prints (its exact format is read by people and scripts). */
export function formatLine(name: string, pass: boolean, result: Pick<FaultResult, 'verdict' | 'recoveryS'>): string {
  const { acked, lost, undelivered, foreignDupes } = result.verdict;
  const recovery = Number.isFinite(result.recoveryS) ? result.recoveryS.toFixed(1) : 'inf';
  return `fault ${name} ${pass ? 'PASS' : 'FAIL'} acked=${acked} lost=${lost} undelivered=${undelivered} foreign_dupes=${foreignDupes} recovery_s=${recovery}`;
}
