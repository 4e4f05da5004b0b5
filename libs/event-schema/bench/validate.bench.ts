// Micro-benchmark: µs per trigger validation of seed 000's example, to keep the gateway's
// synchronous check and the validator service's per-message cost visible.
//   npx node -r ./tools/register.js libs/event-schema/bench/validate.bench.ts
import { compileTriggerValidator, type EventTypeDefinition, parseEventTypeDefinition, validateTriggerPayload } from '../src';
import { storePurchaseType } from '@relay/testing';

const created = parseEventTypeDefinition(storePurchaseType());
if (!created.ok) throw new Error(created.errors.join('\n'));
const def: EventTypeDefinition = created.value;

const seedBody = {
  contact: { email: 'marie.dupont@example.com' },
  metaData: { order_id: 12345, total_amount: 89.5, store_code: 'PAR-13' },
};
const phoneBody = { ...seedBody, contact: { phone: '+33 6 12 34 56 78' } };
const invalidBody = { contact: { email: 'marie.dupont@example.com' }, metaData: { order_id: '12345', store_code: 'PAR-13' } };

const compiled = compileTriggerValidator(def);

// Results go to a sink so the optimiser cannot drop the calls.
let sink = 0;

function measure(label: string, run: () => { ok: boolean }, expectOk: boolean): number {
  if (run().ok !== expectOk) throw new Error(`${label}: unexpected result`);
  const iterations = 200_000;
  for (let i = 0; i < 50_000; i++) sink += run().ok ? 1 : 0; // warm-up: let the JIT settle
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += run().ok ? 1 : 0;
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / iterations);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[2] ?? Number.NaN;
  console.log(`${label.padEnd(58)} ${median.toFixed(2).padStart(6)} µs/validation (median of 5 × ${iterations})`);
  return median;
}

console.log(`node ${process.version}`);
measure('validateTriggerPayload, seed 000 trigger (email)', () => validateTriggerPayload(def, seedBody), true);
measure('compileTriggerValidator, seed 000 trigger (email)', () => compiled(seedBody), true);
measure('compileTriggerValidator, same with contact.phone', () => compiled(phoneBody), true);
measure('compileTriggerValidator, seed 000 400 example (2 errors)', () => compiled(invalidBody), false);
if (sink < 0) console.log(sink);
